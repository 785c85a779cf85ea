"""A partner app end to end in Debian's Chromium: the citizen logs in through the development IdP,
activates from the consent page and comes back to it, allows; the partner (authlib) exchanges the
code with its PKCE verifier and reads the eBox. axe-core on the consent and grants pages."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone

from citizens import services as citizen_services
from citizens.models import Citizen, PartnerGrant
from messages.models import EmailNotification
from tests.browser import assert_accessible, assert_sound_html
from tests.portal_support import devidp, oidc_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

ANNA = "78110345605"  # a demo citizen of the development IdP, not activated


def check_page(page) -> None:
    assert_accessible(page)
    assert_sound_html(page.content())


def test_partner_consent_in_the_browser_then_the_api_reads_the_ebox(
    live_server,
    oidc_settings,  # noqa: F811 - fixture
    publish,
    page,
    settings,
):
    # The live server speaks http: allow its redirect URI as development does (production: https only).
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"]}
    letter = publish(ANNA, subject={"fr": "Avertissement-extrait de rôle"}, body={"fr": "Votre impôt"})
    redirect_uri = live_server.url + "/partner-callback"
    partner, secret = citizen_services.create_partner_application(
        name={"fr": "Coffre-fort Démo", "nl": "Demo Kluis"}, redirect_uris=[redirect_uri], scopes=["ebox.read"]
    )
    oauth = OAuth2Session(
        partner.oauth_application.client_id,
        secret,
        scope="ebox.read",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    authorize_url, state = oauth.create_authorization_url(live_server.url + "/o/authorize/", code_verifier=verifier)

    # The redirect URI 404s on the live server; the browser's request to it is recorded (routing
    # does not see requests that follow a redirect, so listen to the requests instead).
    landed: list[str] = []
    page.on("request", lambda request: landed.append(request.url) if request.url.startswith(redirect_uri) else None)

    # Not logged in: the portal sends the browser to the development IdP, then back to the consent page.
    page.goto(authorize_url)
    assert "/interaction/" in page.url
    page.get_by_role("button", name=re.compile("Anna Schmitz")).click()
    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/o/authorize/\?"))
    assert "Coffre-fort Démo" in page.locator("h1").inner_text()
    check_page(page)

    # Not activated: the consent page offers activation, which brings the citizen back here.
    page.locator("main a[href^='/activate/?next=']").click()
    page.wait_for_url(re.compile(r"/activate/\?next="))
    check_page(page)
    page.fill("#id_email", "anna@example.org")
    page.check("#id_consent")
    with page.expect_navigation():
        page.click("main form.stack button[type=submit]")
    assert page.url.startswith(live_server.url + "/o/authorize/?")
    assert Citizen.objects.get(national_number=ANNA).is_activated
    assert page.locator("main a[href^='/activate/']").count() == 0  # activated now
    check_page(page)

    # Allow: the browser lands on the partner's redirect URI with a code and the state.
    page.get_by_role("button", name=re.compile("Autoriser|Allow")).click()
    page.wait_for_url(re.compile(re.escape(redirect_uri)))
    assert len(landed) == 1 and landed[0] == page.url
    query = parse_qs(urlparse(landed[0]).query)
    assert query["state"] == [state] and "error" not in query

    # The partner's back end exchanges the code with the PKCE verifier and reads the eBox.
    without_verifier = requests.post(
        live_server.url + "/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": partner.oauth_application.client_id,
            "client_secret": secret,
            "code_verifier": secrets.token_urlsafe(48),
        },
        timeout=10,
    )
    assert without_verifier.status_code == 400  # a wrong verifier is refused
    token = oauth.fetch_token(live_server.url + "/o/token/", code=query["code"][0], code_verifier=verifier)
    assert token["scope"] == "ebox.read"
    anna = Citizen.objects.get(national_number=ANNA)
    assert PartnerGrant.objects.filter(citizen=anna, partner=partner, revoked_at=None).exists()

    headers = {"Authorization": f"Bearer {token['access_token']}"}
    listing = requests.get(live_server.url + "/api/v2/ebox/messages", headers=headers, timeout=10)
    assert listing.status_code == 200
    assert [m["messageId"] for m in listing.json()["items"]] == [str(letter.id)]
    body = requests.get(live_server.url + f"/api/v2/ebox/messages/{letter.id}/body", headers=headers, timeout=10)
    assert body.json()["fr"] == "Votre impôt"

    # Meanwhile our e-mails to the citizen bounced (recorded as the sender does): the inbox and the
    # settings page say so, accessibly.
    now = timezone.now()
    EmailNotification.objects.create(
        citizen=anna,
        kind="new_mail",
        window_start=now,
        execute_after=now,
        status="failed",
        failed_at=now,
        to_address="anna@example.org",
        last_error="550 5.1.1 mailbox unavailable",
    )
    page.goto(live_server.url + "/inbox/")
    assert "anna@example.org" in page.locator("main .notice-warning[role=alert]").inner_text()
    check_page(page)

    # The citizen finds the app from the settings page, and withdraws its access.
    page.goto(live_server.url + "/settings/")
    assert page.locator("main .notice-warning[role=alert]").count() == 1
    check_page(page)
    page.locator("main a[href='/settings/apps/']").click()
    page.wait_for_url(live_server.url + "/settings/apps/")
    assert "Coffre-fort Démo" in page.locator("main table").inner_text()
    check_page(page)
    with page.expect_navigation():
        page.locator("main table button[type=submit]").click()
    check_page(page)
    assert requests.get(live_server.url + "/api/v2/ebox", headers=headers, timeout=10).status_code == 401
