"""Partner apps: consent with OAuth 2 authorization code + PKCE, then the consultation API 2.1.

A real OAuth client library (authlib) does the protocol over HTTP against a live server, like
a partner's back end would; every response is validated against the spec's definitions.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.contrib.auth import get_user_model

from citizens import services as citizen_services
from citizens.models import AccessLogEntry, PartnerGrant
from tests.factories import CitizenFactory
from tests.spec import assert_matches

REDIRECT = "https://partner.example/callback"


@pytest.fixture
def partner(transactional_db):
    partner, secret = citizen_services.create_partner_application(
        name={"fr": "Coffre-fort Démo", "nl": "Demo Kluis"},
        redirect_uris=[REDIRECT],
        scopes=["ebox.read", "ebox.manage"],
    )
    partner.secret = secret
    return partner


def browser_session(live_server, citizen) -> requests.Session:
    """A requests session logged in to the portal as `citizen` (the OIDC login is tested in the portal tests)."""
    from django.test import Client

    user = get_user_model().objects.create(username=f"citizen-{citizen.national_number}")
    citizen.user = user
    citizen.save(update_fields=["user"])
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return session


def consent(live_server, session: requests.Session, partner, scope: str = "ebox.read ebox.manage", allow=True):
    """Drive the consent page like the citizen's browser; return (oauth client, code, verifier)."""
    oauth = OAuth2Session(
        partner.oauth_application.client_id,
        partner.secret,
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(live_server.url + "/o/authorize/", code_verifier=verifier)
    page = session.get(url, allow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    assert "Coffre-fort Démo" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    if allow:
        fields["allow"] = "Authorize"
    answer = session.post(url, data=fields, headers={"Referer": url}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    location = urlparse(answer.headers["Location"])
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return oauth, query.get("code", [None])[0], verifier, query


def token_for(live_server, session, partner, scope="ebox.read ebox.manage") -> dict:
    oauth, code, verifier, _ = consent(live_server, session, partner, scope)
    return oauth.fetch_token(live_server.url + "/o/token/", code=code, code_verifier=verifier)


@pytest.fixture
def mailbox(transactional_db, publish, pdf_bytes):
    citizen = CitizenFactory(activated=True)
    other = CitizenFactory(activated=True)
    messages = [
        publish(
            citizen.national_number,
            subject={"fr": "Avertissement fiscal", "nl": "Aanslagbiljet"},
            body={"fr": "Votre impôt", "nl": "Uw belasting"},
            payment_data={
                "amount": 12.5,
                "currency": "EUR",
                "iban": "BE39679200300019",
                "dueDate": "2030-01-31",
                "reference": {"structured": "+++090/9337/55493+++"},
            },
        ),
        publish(
            citizen.national_number,
            subject={"fr": "Composition de ménage"},
            body={"fr": "Le certificat"},
            body_main_content=True,
            attachments=[],
            registered_mail=True,
        ),
    ]
    foreign = publish(other.national_number, subject={"fr": "Pas pour vous"})
    return citizen, messages, foreign


def api(token: dict, live_server, path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(
        method,
        live_server.url + "/api/v2" + path,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
        **kwargs,
    )


def test_consent_then_every_consultation_operation(live_server, partner, mailbox, pdf_bytes):
    citizen, (letter, certificate), foreign = mailbox
    session = browser_session(live_server, citizen)
    token = token_for(live_server, session, partner)
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == {"ebox.read", "ebox.manage"}
    assert PartnerGrant.objects.filter(citizen=citizen, partner=partner, revoked_at=None).exists()

    summary = api(token, live_server, "/ebox")
    assert summary.status_code == 200
    assert_matches(summary.json(), "Ebox")
    assert summary.json()["numberOfMessages"] == 2
    assert summary.json()["numberOfUnreadMessages"] == 2

    listing = api(token, live_server, "/ebox/messages")
    assert listing.status_code == 200
    assert_matches(listing.json(), "Messages")
    assert [m["messageId"] for m in listing.json()["items"]] == [str(certificate.id), str(letter.id)]  # newest first
    assert listing.json()["items"][1]["subject"]["fr"] == "Avertissement fiscal"

    filtered = api(token, live_server, "/ebox/messages?registeredMail=true").json()
    assert [m["messageId"] for m in filtered["items"]] == [str(certificate.id)]
    searched = api(token, live_server, "/ebox/messages?q=belasting&qlang=nl").json()
    assert [m["messageId"] for m in searched["items"]] == [str(letter.id)]
    assert api(token, live_server, "/ebox/messages?q=belasting").status_code == 400
    assert api(token, live_server, "/ebox/messages?pageSize=500").status_code == 400
    paged = api(token, live_server, "/ebox/messages?pageSize=1&page=2").json()
    assert paged["totalItems"] == 2 and [m["messageId"] for m in paged["items"]] == [str(letter.id)]

    one = api(token, live_server, f"/ebox/messages/{letter.id}")
    assert one.status_code == 200
    assert_matches(one.json(), "Message")
    assert one.json()["readStatus"] is False

    attachments = api(token, live_server, f"/ebox/messages/{letter.id}/attachments")
    assert_matches(attachments.json(), "Attachments")
    attachment_id = attachments.json()["items"][0]["attachmentId"]
    meta = api(token, live_server, f"/ebox/messages/{letter.id}/attachments/{attachment_id}")
    assert_matches(meta.json(), "Attachment")
    content = api(token, live_server, f"/ebox/messages/{letter.id}/attachments/{attachment_id}/content")
    assert content.status_code == 200
    assert hashlib.sha256(content.content).hexdigest() == hashlib.sha256(pdf_bytes).hexdigest()
    letter.refresh_from_db()
    assert letter.read_at is not None  # the main content was consulted

    body = api(token, live_server, f"/ebox/messages/{letter.id}/body")
    assert_matches(body.json(), "TranslatedString")
    assert body.json()["nl"] == "Uw belasting"
    payment = api(token, live_server, f"/ebox/messages/{letter.id}/paymentData")
    assert payment.status_code == 200
    assert_matches(payment.json(), "PaymentData")
    assert api(token, live_server, f"/ebox/messages/{certificate.id}/paymentData").status_code == 404

    patched = api(
        token,
        live_server,
        "/ebox/messages",
        "PATCH",
        json={"items": [{"messageId": str(certificate.id), "visible": False, "readStatus": True}]},
    )
    assert patched.status_code == 200
    certificate.refresh_from_db()
    assert certificate.hidden_at is not None and certificate.read_at is not None
    hidden = api(token, live_server, "/ebox/messages?visible=false").json()
    assert [m["messageId"] for m in hidden["items"]] == [str(certificate.id)]

    # Never another citizen's message.
    for path in (
        f"/ebox/messages/{foreign.id}",
        f"/ebox/messages/{foreign.id}/body",
        f"/ebox/messages/{foreign.id}/attachments",
    ):
        response = api(token, live_server, path)
        assert response.status_code == 404
        assert_matches(response.json(), "StatusMessage")
    assert (
        api(
            token,
            live_server,
            "/ebox/messages",
            "PATCH",
            json={"items": [{"messageId": str(foreign.id), "visible": False}]},
        ).status_code
        == 404
    )

    # Every access is in the citizen's access log, under the partner's name.
    log = AccessLogEntry.objects.filter(citizen=citizen)
    assert log.exists()
    assert set(log.values_list("accessor", flat=True)) == {"Coffre-fort Démo"}
    assert log.filter(action="downloaded", message=letter).exists()
    assert not AccessLogEntry.objects.filter(citizen=foreign.citizen).exists()


def test_scopes_are_enforced(live_server, partner, mailbox):
    citizen, (letter, _), _ = mailbox
    token = token_for(live_server, browser_session(live_server, citizen), partner, scope="ebox.read")
    assert api(token, live_server, "/ebox/messages").status_code == 200
    refused = api(
        token, live_server, "/ebox/messages", "PATCH", json={"items": [{"messageId": str(letter.id), "visible": False}]}
    )
    assert refused.status_code == 403
    assert "ebox.manage" in refused.json()["message"]


def test_a_partner_cannot_obtain_scopes_it_was_not_allowed(live_server, mailbox):
    citizen, _, _ = mailbox
    reader, secret = citizen_services.create_partner_application(
        name={"fr": "Lecteur"}, redirect_uris=[REDIRECT], scopes=["ebox.read"]
    )
    oauth = OAuth2Session(
        reader.oauth_application.client_id,
        secret,
        scope="ebox.read ebox.manage",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    url, _ = oauth.create_authorization_url(live_server.url + "/o/authorize/", code_verifier=secrets.token_urlsafe(48))
    page = browser_session(live_server, citizen).get(url, allow_redirects=False)
    # DOT redirects back to the client with error=invalid_scope rather than showing consent.
    assert page.status_code == 302 and "invalid_scope" in page.headers["Location"]


def test_refused_consent_gives_no_code_and_no_grant(live_server, partner, mailbox):
    citizen, _, _ = mailbox
    _, code, _, query = consent(live_server, browser_session(live_server, citizen), partner, allow=False)
    assert code is None and query["error"] == ["access_denied"]
    assert not PartnerGrant.objects.exists()


def test_a_revoked_grant_gets_401_at_once(live_server, partner, mailbox):
    citizen, _, _ = mailbox
    session = browser_session(live_server, citizen)
    token = token_for(live_server, session, partner)
    assert api(token, live_server, "/ebox").status_code == 200
    grant = PartnerGrant.objects.get(citizen=citizen, partner=partner)
    # The citizen withdraws the access from their settings page.
    page = session.get(live_server.url + "/settings/apps/")
    assert page.status_code == 200 and "Coffre-fort Démo" in page.text
    csrf = session.cookies.get(settings.CSRF_COOKIE_NAME)
    revoked = session.post(
        live_server.url + f"/settings/apps/{grant.pk}/revoke",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": live_server.url + "/settings/apps/"},
        allow_redirects=False,
    )
    assert revoked.status_code == 302
    response = api(token, live_server, "/ebox")
    assert response.status_code == 401
    assert_matches(response.json(), "StatusMessage")


def test_an_operator_revoking_the_app_ends_its_access(live_server, partner, mailbox):
    citizen, _, _ = mailbox
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    citizen_services.revoke_partner_application(partner)
    assert api(token, live_server, "/ebox").status_code == 401


def test_a_sender_application_token_cannot_read_an_ebox(live_server, mailbox, sender_application):
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    secret = "s3cret-for-the-test"
    app = Application.objects.create(
        name="sender", client_type="confidential", authorization_grant_type="client-credentials", client_secret=secret
    )
    sender_application.oauth_application = app
    sender_application.save()
    from authlib.integrations.base_client.errors import OAuthError

    with pytest.raises(OAuthError, match="invalid_scope"):
        OAuth2Session(app.client_id, secret, scope="publication ebox.read").fetch_token(
            live_server.url + "/o/token/", grant_type="client_credentials"
        )
    token = OAuth2Session(app.client_id, secret, scope="publication").fetch_token(
        live_server.url + "/o/token/", grant_type="client_credentials"
    )
    assert api(token, live_server, "/ebox").status_code == 403


def test_tampered_content_is_withheld_from_the_partner(live_server, partner, mailbox):
    citizen, (letter, _), _ = mailbox
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    content = letter.content
    blob = bytearray(bytes(content.body_ct))
    blob[-1] ^= 1
    content.body_ct = bytes(blob)
    content.save(update_fields=["body_ct"])
    response = api(token, live_server, f"/ebox/messages/{letter.id}/body")
    assert response.status_code == 409
    assert "integrity" in response.json()["message"]
    assert letter.incidents.count() == 1


def test_unauthenticated_calls_get_a_status_message(live_server, transactional_db):
    response = requests.get(live_server.url + "/api/v2/ebox", timeout=5)
    assert response.status_code == 401
    assert_matches(response.json(), "StatusMessage")
    bogus = requests.get(live_server.url + "/api/v2/ebox", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bogus.status_code == 401


def test_partner_accesses_are_in_the_audit_trail(live_server, partner, mailbox):
    from audit.models import AuditEntry

    citizen, (letter, _), _ = mailbox
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    assert api(token, live_server, f"/ebox/messages/{letter.id}").status_code == 200
    entry = AuditEntry.objects.filter(url__endswith=f"/ebox/messages/{letter.id}").get()
    assert entry.status_code == 200 and entry.method == "GET"
    assert str(letter.id) in entry.ids
    assert partner.oauth_application.client_id in entry.actor
    assert token["access_token"] not in entry.token_sha256


def test_patch_accepts_the_specs_merge_patch_media_type(live_server, partner, mailbox):
    citizen, (letter, _certificate), _foreign = mailbox
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    body = json.dumps({"items": [{"messageId": str(letter.id), "visible": False}]})

    def patch(content_type: str) -> requests.Response:
        return requests.patch(
            live_server.url + "/api/v2/ebox/messages",
            data=body,
            headers={"Authorization": f"Bearer {token['access_token']}", "Content-Type": content_type},
            timeout=10,
        )

    for content_type in ("application/merge-patch+json", "application/json"):
        response = patch(content_type)
        assert response.status_code == 200, (content_type, response.text)
    letter.refresh_from_db()
    assert letter.hidden_at is not None
    assert patch("text/plain").status_code == 415
