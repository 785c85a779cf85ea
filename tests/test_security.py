"""Issue 15: the web surface tried as an attacker would (items 1, 2, 4, 7, 8, 10 and an authorisation matrix).

Django's test client on the session's real PostgreSQL and Redis (rate limits count in Redis);
`manage.py check --deploy` runs as a process with production settings.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from citizens import services as citizen_services
from senders import services as sender_services
from tests.conftest import ROOT, service_env
from tests.factories import CitizenFactory

REDIRECT = "https://partner.example/callback"
_addresses = itertools.count(1)


def new_client(**kwargs) -> Client:
    """A client from an address of its own, so rate-limit counters of other tests never meet it."""
    n = next(_addresses) + os.getpid() % 50 * 1000
    return Client(REMOTE_ADDR=f"198.18.{n // 250 % 250}.{n % 250 + 1}", **kwargs)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(client: Client, client_id: str, secret: str, **data):
    data.setdefault("grant_type", "client_credentials")
    return client.post("/o/token/", data, HTTP_AUTHORIZATION=basic(client_id, secret))


@pytest.fixture
def sender(organisation):
    return sender_services.create_sender_application(organisation, f"app-{secrets.token_hex(4)}")


@pytest.fixture
def partner(db):
    partner, secret = citizen_services.create_partner_application(
        name={"fr": "Coffre-fort"}, redirect_uris=[REDIRECT], scopes=["ebox.read", "ebox.manage"]
    )
    partner.secret = secret
    return partner


def citizen_user(citizen):
    user = get_user_model().objects.create(username=f"citizen-{citizen.national_number}")
    citizen.user = user
    citizen.save(update_fields=["user"])
    return user


def partner_token(partner, citizen) -> str:
    """A partner access token for a citizen who consented (as the consent flow leaves it)."""
    citizen_services.grant_partner_access(citizen, partner, ["ebox.read", "ebox.manage"])
    raw = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=citizen.user,
        application=partner.oauth_application,
        token=raw,
        expires=timezone.now() + timedelta(minutes=10),
        scope="ebox.read ebox.manage",
    )
    return raw


# --- 1. No client registration, no discouraged grants ------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/o/applications/",
        "/o/applications/register/",
        "/o/applications/1/",
        "/o/authorized_tokens/",
        "/o/device-authorization/",
        "/o/device/",
    ],
)
def test_a_citizen_finds_no_oauth_management_pages(path, citizen):
    client = new_client()
    client.force_login(citizen_user(citizen))
    assert client.get(path).status_code == 404
    assert client.post(path, {"name": "x", "client_type": "confidential"}).status_code in (403, 404)


def test_only_the_endpoints_clients_need_are_advertised(db):
    metadata = new_client().get("/.well-known/oauth-authorization-server").json()
    assert metadata["grant_types_supported"] == ["authorization_code", "client_credentials", "refresh_token"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_endpoint"].endswith("/o/authorize/")
    assert {"token_endpoint", "revocation_endpoint", "introspection_endpoint"} <= metadata.keys()
    assert "registration_endpoint" not in metadata


def test_an_application_registered_for_the_password_grant_gets_no_token(db):
    staff = get_user_model().objects.create_user("operator", password="correct horse battery staple", is_staff=True)
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name="password client",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
        client_secret=secret,
        user=staff,
    )
    answer = token_request(
        new_client(),
        app.client_id,
        secret,
        grant_type="password",
        username="operator",
        password="correct horse battery staple",
    )
    assert answer.status_code in (400, 401), answer.content
    assert "access_token" not in answer.json()
    assert not AccessToken.objects.filter(application=app).exists()


def test_an_application_registered_for_the_implicit_grant_gets_no_token(partner, citizen):
    app = partner.oauth_application  # a partner app (so it may have scopes) registered for the implicit grant
    app.authorization_grant_type = Application.GRANT_IMPLICIT
    app.client_type = Application.CLIENT_PUBLIC
    app.save()
    client = new_client()
    client.force_login(citizen_user(citizen))
    query = {"response_type": "token", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "ebox.read"}
    answer = client.get("/o/authorize/?" + urlencode(query))
    if answer.status_code == 200:  # the consent page: allow, as a tricked citizen would
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.content.decode()))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        answer = client.post("/o/authorize/?" + urlencode(query), {**fields, "allow": "Authorize"})
    assert answer.status_code == 302
    assert "access_token" not in answer["Location"] and "error=" in answer["Location"]
    assert not AccessToken.objects.filter(application=app).exists()


def test_pkce_plain_is_refused(partner, citizen):
    client = new_client()
    client.force_login(citizen_user(citizen))
    query = {
        "response_type": "code",
        "client_id": partner.oauth_application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "ebox.read",
        "code_challenge": secrets.token_urlsafe(48),
        "code_challenge_method": "plain",
    }
    answer = client.get("/o/authorize/?" + urlencode(query))
    location = parse_qs(urlparse(answer.get("Location", "")).query)
    assert answer.status_code == 302, "refused before the consent page"
    assert "code" not in location and location["error"] == ["invalid_request"]


def test_http_redirect_uris_are_refused_outside_development(db):
    from django.core.exceptions import ValidationError

    app = Application(
        name="http partner",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://partner.example/callback",
        client_secret="x",
    )
    with pytest.raises(ValidationError):
        app.full_clean()


def test_tokens_are_stored_hashed_and_a_reused_refresh_token_revokes_the_family(partner, citizen):
    from citizens import partner_views  # noqa: F401 - the consent flow below

    user = citizen_user(citizen)
    client = new_client()
    client.force_login(user)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": partner.oauth_application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "ebox.read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    page = client.get("/o/authorize/?" + urlencode(query))
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode()))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    answer = client.post("/o/authorize/?" + urlencode(query), {**fields, "allow": "Authorize"})
    assert answer.status_code == 302
    returned = parse_qs(urlparse(answer["Location"]).query)
    assert returned["iss"], "RFC 9207 iss parameter"
    tokens = token_request(
        new_client(),
        partner.oauth_application.client_id,
        partner.secret,
        grant_type="authorization_code",
        code=returned["code"][0],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    ).json()
    stored = AccessToken.objects.get(token_checksum=hashlib.sha256(tokens["access_token"].encode()).hexdigest())
    assert stored.token == ""  # only its SHA-256 is kept
    assert RefreshToken.objects.get(access_token=stored).token == ""

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    first = token_request(new_client(), partner.oauth_application.client_id, partner.secret, **refresh)
    assert first.status_code == 200
    replay = token_request(new_client(), partner.oauth_application.client_id, partner.secret, **refresh)
    assert replay.status_code == 400
    # The replay revoked the token the legitimate refresh produced.
    fresh = first.json()["refresh_token"]
    again = token_request(
        new_client(),
        partner.oauth_application.client_id,
        partner.secret,
        grant_type="refresh_token",
        refresh_token=fresh,
    )
    assert again.status_code == 400


# --- 2. Introspection only for allow-listed resource servers ------------------------------------


def test_a_sender_cannot_introspect_a_partner_token(sender, partner, citizen, settings):
    citizen_user(citizen)
    token = partner_token(partner, citizen)
    answer = new_client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(sender.client_id, sender.client_secret)
    )
    assert answer.status_code == 403
    assert citizen.national_number not in answer.content.decode()
    # Not even with the token itself as credentials, nor without credentials.
    assert new_client().post("/o/introspect/", {"token": token}).status_code == 401
    assert (
        new_client().post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    )
    assert new_client().get("/o/introspect/", {"token": token}).status_code in (401, 405)

    settings.EBOX_INTROSPECTION_CLIENT_IDS = [sender.client_id]
    allowed = new_client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic(sender.client_id, sender.client_secret)
    )
    assert allowed.status_code == 200
    assert allowed.json()["active"] is True
    assert "username" not in allowed.json() and citizen.national_number not in allowed.content.decode()


# --- 4. Rate limits and client-secret verification -----------------------------------------------


def test_wrong_client_secrets_are_throttled_and_the_right_one_waits(sender):
    client = new_client()
    statuses = [
        token_request(client, sender.client_id, "wrong-" + secrets.token_hex(20)).status_code for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    blocked = token_request(new_client(), sender.client_id, sender.client_secret)  # even from elsewhere
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 300


def test_guessing_client_ids_from_one_address_is_throttled(db):
    client = new_client()
    statuses = [token_request(client, f"unknown-{i}", "x").status_code for i in range(32)]
    assert statuses[:30] == [401] * 30 and statuses[30:] == [429, 429]


def test_client_secrets_are_an_hmac_checked_fast_for_known_and_unknown_ids(sender, settings):
    stored = Application.objects.get(client_id=sender.client_id).client_secret
    assert stored.startswith("ebox_hmac_sha256$")
    settings.EBOX_RATE_LIMITS = {**settings.EBOX_RATE_LIMITS, "oauth_failures_per_client": "1000/60"}
    settings.EBOX_RATE_LIMITS["oauth_failures_per_address"] = "1000/60"

    def timed(client_id):
        client = new_client()
        times = []
        for _ in range(15):
            start = time.perf_counter()
            assert token_request(client, client_id, "wrong").status_code == 401
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = timed(sender.client_id), timed("no-such-client")
    assert known < 0.1, known  # a PBKDF2 check alone took ~0.5 s
    assert abs(known - unknown) < 0.02, (known, unknown)


def test_a_secret_stored_with_the_old_slow_hash_still_works_and_is_rehashed(sender, settings):
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    app = Application.objects.get(client_id=sender.client_id)
    Application.objects.filter(pk=app.pk).update(
        client_secret=make_password(sender.client_secret, hasher="pbkdf2_sha256")
    )
    assert token_request(new_client(), sender.client_id, sender.client_secret).status_code == 200
    app.refresh_from_db()
    assert app.client_secret.startswith("ebox_hmac_sha256$")
    assert token_request(new_client(), sender.client_id, sender.client_secret).status_code == 200


def test_wrong_admin_passwords_are_throttled(db):
    get_user_model().objects.create_superuser("admin-rl", "a@example.be", "right-password-123")
    client = new_client()
    statuses = [
        client.post("/admin/login/", {"username": "admin-rl", "password": f"wrong-{i}"}).status_code for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    right = new_client().post("/admin/login/", {"username": "admin-rl", "password": "right-password-123"})
    assert right.status_code == 429 and int(right["Retry-After"]) > 0


def test_the_oidc_callback_is_throttled_per_address(db, settings):
    settings.EBOX_RATE_LIMITS = {**settings.EBOX_RATE_LIMITS, "oidc_callback_per_address": "3/60"}
    client = new_client()
    statuses = [client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429


def test_the_api_answers_429_with_a_status_message(sender, settings):
    settings.EBOX_RATE_LIMITS = {**settings.EBOX_RATE_LIMITS, "api_per_token": "3/60"}
    token = token_request(new_client(), sender.client_id, sender.client_secret).json()["access_token"]
    client = new_client()
    answers = [client.get("/api/v2/referenceData/messageTypes", HTTP_AUTHORIZATION=f"Bearer {token}") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200] * 3
    assert answers[3].status_code == 429 and int(answers[3]["Retry-After"]) > 0
    body = answers[3].json()
    assert body["code"] == "TOO_MANY_REQUESTS" and body["message"] and uuid.UUID(body["id"])


def test_rate_limits_fail_open_when_redis_is_down(sender, monkeypatch, caplog):
    from ebox import ratelimit

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(ratelimit.cache, "get", down)
    monkeypatch.setattr(ratelimit.cache, "add", down)
    assert token_request(new_client(), sender.client_id, sender.client_secret).status_code == 200
    assert "rate limiting skipped" in caplog.text


# --- 7. Tokens only in the Authorization header ------------------------------------------------------


def test_partner_tokens_in_the_query_or_a_form_body_are_refused(partner, citizen, publish):
    citizen_user(citizen)
    token = partner_token(partner, citizen)
    client = new_client()
    assert client.get("/api/v2/ebox", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    for answer in (
        client.get("/api/v2/ebox", {"access_token": token}),
        client.get("/api/v2/ebox/messages", {"access_token": token}),
        client.post(
            "/api/v2/ebox/messages/x",
            urlencode({"access_token": token}),
            content_type="application/x-www-form-urlencoded",
        ),
    ):
        assert answer.status_code == 401, answer.content
        body = answer.json()
        assert body["code"] == "INVALID_AUTHORIZATION" and "Authorization header" in body["message"]


def test_sender_tokens_in_the_query_are_refused(sender):
    token = token_request(new_client(), sender.client_id, sender.client_secret).json()["access_token"]
    answer = new_client().get("/api/v2/referenceData/messageTypes", {"access_token": token})
    assert answer.status_code == 401 and answer.json()["code"] == "INVALID_AUTHORIZATION"


# --- 8. Headers: CSP, HSTS, Cache-Control, Secure cookies; check --deploy -----------------------------


def test_portal_pages_evidence_and_api_answers_are_not_stored(partner, citizen, publish, sender):
    user = citizen_user(citizen)
    message = publish(citizen.national_number)
    client = new_client()
    client.force_login(user)
    for path in ("/inbox/", f"/inbox/{message.pk}/", f"/inbox/{message.pk}/evidence.json", "/settings/"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "no-store" in answer["Cache-Control"], path
        assert "script-src 'self'" in answer["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in answer["Content-Security-Policy"], path
        assert answer["X-Frame-Options"] == "DENY", path
    token = partner_token(partner, citizen)
    partner_json = new_client().get("/api/v2/ebox/messages", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert partner_json.status_code == 200 and partner_json["Cache-Control"] == "no-store"
    sender_token = token_request(new_client(), sender.client_id, sender.client_secret)
    assert "no-store" in sender_token["Cache-Control"]
    sender_json = new_client().get(
        "/api/v2/referenceData/messageTypes", HTTP_AUTHORIZATION=f"Bearer {sender_token.json()['access_token']}"
    )
    assert sender_json.status_code == 200 and sender_json["Cache-Control"] == "no-store"


def test_the_message_pdf_alone_may_be_framed_by_our_own_page(citizen, publish):
    user = citizen_user(citizen)
    message = publish(citizen.national_number)
    client = new_client()
    client.force_login(user)
    attachment = message.content.attachments.get(main_content=True)
    answer = client.get(f"/inbox/{message.pk}/attachments/{attachment.pk}/?inline=1")
    assert answer.status_code == 200
    assert answer["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in answer["Content-Security-Policy"]


def test_under_https_hsts_redirect_and_every_cookie_is_secure(db, settings, citizen):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = True
    client = new_client()
    plain = client.get("/statistics/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    page = client.get("/", secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    answer = client.post("/i18n/setlang/", {"language": "nl", "next": "/"}, secure=True)
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME]["secure"] is True
    # The language cookie the OIDC callback sets is Secure too (the middleware makes every cookie so).
    from django.http import HttpResponse

    from ebox.headers import ResponseHeadersMiddleware

    def view(request):
        response = HttpResponse()
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, "de", samesite="Lax")
        return response

    assert ResponseHeadersMiddleware(view)(None).cookies[settings.LANGUAGE_COOKIE_NAME]["secure"] is True


def test_check_deploy_with_production_settings_gives_no_warning(db):
    env = service_env(
        DJANGO_SETTINGS_MODULE="ebox.settings",
        PUBLIC_URL="https://ebox.example",
        ALLOWED_HOSTS="ebox.example",
        SECRET_KEY=secrets.token_urlsafe(50),
        EBOX_CLIENT_SECRET_KEY=secrets.token_urlsafe(32),
        DEBUG="false",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the test settings for Playwright, never in production
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# --- 10. Redirects and the development mail view ----------------------------------------------------


def test_revoking_a_grant_never_redirects_off_site(partner, citizen):
    user = citizen_user(citizen)
    grant = citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    client = new_client()
    client.force_login(user)
    answer = client.post(
        f"/settings/apps/{grant.pk}/revoke?next=https://evil.example/", {"next": "https://evil.example/"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/settings/apps/"
    grant = citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    for target in ("//evil.example/", "https:evil.example", "/\\evil.example"):
        answer = client.post(f"/settings/apps/{grant.pk}/revoke", {"next": target})
        assert answer["Location"] == "/settings/apps/", target
    grant = citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    answer = client.post(f"/settings/apps/{grant.pk}/revoke", {"next": "/settings/"})
    assert answer["Location"] == "/settings/"


def test_the_development_mail_view_is_staff_only_even_in_development(citizen, settings, admin_user):
    settings.EBOX_DEV_MAIL_VIEW = True
    anonymous = new_client().get("/dev/mail/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    client = new_client()
    client.force_login(citizen_user(citizen))
    assert client.get("/dev/mail/").status_code == 302
    staff = new_client()
    staff.force_login(admin_user)
    assert staff.get("/dev/mail/").status_code == 200
    settings.EBOX_DEV_MAIL_VIEW = False
    assert staff.get("/dev/mail/").status_code == 404


# --- The authorisation matrix: every URL pattern, every kind of caller --------------------------------

# Pages anyone may see (no personal data); every other pattern must refuse an anonymous caller.
PUBLIC = re.compile(
    r"^/(|healthz|statistics/|organisations/.*|organisations\.json|i18n/.*|oidc/.*|\.well-known/.*|"
    r"admin/login/|api/v2/(schema|docs)/|api/federation/v1/api(/doc(/swagger\.json|/jsonSchemas/.*)?)?|verify-email/.*|o/(token|revoke_token|introspect)/|language/|logged-out/|favicon\.ico)$"
)
ANONYMOUS_REFUSALS = {401, 403, 404, 405}
LOGIN_PAGES = (settings.LOGIN_URL, "/admin/login/")


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + _route(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _route(entry.pattern)


def _route(pattern) -> str:
    return str(pattern)


def _concrete(route: str, samples: dict) -> str:
    route = re.sub(
        r"<(?:(\w+):)?(\w+)>", lambda m: str(samples.get(m.group(2), samples.get(m.group(1) or "str"))), route
    )
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(samples.get(m.group(1), "1")), route)
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + route


def test_every_url_pattern_answers_every_kind_of_caller_without_5xx_or_leak(
    partner, citizen, publish, sender, admin_user, settings
):
    settings.EBOX_RATE_LIMITS = {k: "100000/60" for k in settings.EBOX_RATE_LIMITS}
    user = citizen_user(citizen)
    message = publish(citizen.national_number)
    attachment = message.content.attachments.first()
    grant = citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    other = CitizenFactory(activated=True)
    foreign = publish(other.national_number)
    samples = {
        "str": "x",
        "int": 1,
        "path": "1",
        "uuid": message.pk,
        "message_id": message.pk,
        "attachment_id": attachment.pk,
        "grant_id": grant.pk,
        "organisation_id": sender.sender_application.organisation_id,
        "enterprise_number": sender.sender_application.organisation.enterprise_number,
        "messageTypeId": "x",
        "app_label": "citizens",
        "object_id": citizen.pk,
    }
    sender_token = token_request(new_client(), sender.client_id, sender.client_secret).json()["access_token"]
    p_token = partner_token(partner, citizen)

    def session(login_user):
        client = new_client()
        client.force_login(login_user)
        return client

    callers = {
        "anonymous": (new_client(), {}),
        "citizen": (session(user), {}),
        "sender": (new_client(), {"HTTP_AUTHORIZATION": f"Bearer {sender_token}"}),
        "partner": (new_client(), {"HTTP_AUTHORIZATION": f"Bearer {p_token}"}),
        "staff": (session(admin_user), {}),
    }
    routes = sorted(set(_patterns()))
    assert len(routes) > 40
    paths = {_concrete(route, samples) for route in routes}
    paths |= {f"/inbox/{foreign.pk}/", f"/inbox/{foreign.pk}/evidence.json", f"/api/v2/ebox/messages/{foreign.pk}"}
    problems = []
    personal = (citizen.national_number, other.national_number, "Sujet de test")
    for path in sorted(paths):
        for name, (client, headers) in callers.items():
            if "logout" in path:
                continue  # GET logouts are refused or harmless, but would end the caller's session
            answer = client.get(path, **headers)
            if answer.status_code >= 500:
                problems.append(f"{name} GET {path}: {answer.status_code}")
            if name != "anonymous" or PUBLIC.match(path):
                continue
            body = b"" if answer.streaming else answer.content
            if any(p.encode() in body for p in personal):
                problems.append(f"anonymous GET {path}: personal data in the answer")
            if answer.status_code in (301, 302):
                if not answer["Location"].startswith(LOGIN_PAGES):
                    problems.append(f"anonymous GET {path}: redirected to {answer['Location']}")
            elif answer.status_code not in ANONYMOUS_REFUSALS:
                problems.append(f"anonymous GET {path}: {answer.status_code}")
        # Someone else's message is nobody's business, whoever asks.
        if str(foreign.pk) in path:
            for name in ("citizen", "partner"):
                client, headers = callers[name]
                answer = client.get(path, **headers)
                assert answer.status_code in (302, 401, 403, 404), (name, path, answer.status_code)
                assert other.national_number.encode() not in answer.content and b"Sujet" not in answer.content
    assert not problems, "\n".join(problems)


def test_no_page_needs_an_inline_script(citizen, publish, admin_user):
    """Under the CSP (script-src 'self'), an inline <script> would not run: none may be served."""
    user = citizen_user(citizen)
    message = publish(citizen.national_number)
    pages = {
        None: ["/", "/statistics/", "/organisations/", "/api/v2/docs/", "/admin/login/"],
        user: ["/inbox/", f"/inbox/{message.pk}/", "/settings/", "/settings/apps/"],
        admin_user: ["/admin/", "/admin/citizens/citizen/", f"/admin/citizens/citizen/{citizen.pk}/change/"],
    }
    for login, paths in pages.items():
        client = new_client()
        if login is not None:
            client.force_login(login)
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "script-src 'self'" in answer["Content-Security-Policy"], path
            html = answer.content.decode()
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
            assert not re.search(r"\son[a-z]+=\"", html), path
    init = new_client().get("/api/v2/docs/?script=")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
