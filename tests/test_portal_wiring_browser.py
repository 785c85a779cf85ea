"""The enterprise "API clients" page in Chromium at 320 px on the demo data: Marie, director of the
bakery (0990000806), creates an API client, its credentials obtain a token at /o/token/ and list the
bakery's letters over /api/v2/ebox/messages; she revokes it and the token stops. An administrator sets
a callback URL in the sender portal (a private address is a form error). axe on every page."""

from __future__ import annotations

import pytest
import requests

from federation.models import EnterpriseApplication
from sender_portal import services as portal_services
from sender_portal.models import SenderRole
from tests.browser import new_context
from tests.factories import CitizenFactory, OrganisationFactory, SenderApplicationFactory
from tests.test_mandates_browser import MARIE, WIDTH, check, demo, session_for, switch_to  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def token(base: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/o/token/", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )


def test_marie_creates_an_api_client_that_reads_the_bakery_then_revokes_it(live_server, browser, demo):  # noqa: F811
    context = new_context(browser, viewport={"width": WIDTH, "height": 800})
    try:
        session_for(context, live_server, MARIE, "Marie", "Dubois")
        page = context.new_page()
        page.goto(live_server.url + "/inbox/")
        switch_to(page, "Boulangerie Dubois SRL")
        page.goto(live_server.url + "/mandates/")
        page.get_by_role("link", name="API clients of this enterprise").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.get_by_text("No API client yet.").is_visible()

        page.get_by_label("Name of the client").fill("Logiciel comptable")
        page.get_by_role("button", name="Create the API client").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.get_by_text("it is shown only once").is_visible()
        client_id = page.locator("#client-id").inner_text().strip()
        secret = page.locator("#client-secret").inner_text().strip()
        application = EnterpriseApplication.objects.get(oauth_application__client_id=client_id)
        assert application.enterprise.national_number == "0990000806"
        assert application.oauth_application.client_secret != secret  # stored hashed

        answer = token(live_server.url, client_id, secret)
        assert answer.status_code == 200, answer.text[:300]
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        listing = requests.get(f"{live_server.url}/api/v2/ebox/messages", headers=headers, timeout=10)
        assert listing.status_code == 200 and listing.json()["totalItems"] >= 1

        page.get_by_role("link", name="Back to the API clients").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.get_by_role("cell", name=client_id).is_visible()
        page.get_by_role("button", name="Revoke Logiciel comptable").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.get_by_text("The API client was revoked").is_visible()
        assert page.get_by_text("revoked", exact=True).is_visible()

        stopped = requests.get(f"{live_server.url}/api/v2/ebox/messages", headers=headers, timeout=10)
        assert stopped.status_code == 401
        assert token(live_server.url, client_id, secret).status_code == 401
    finally:
        context.close()


def test_an_administrator_sets_a_callback_url_on_a_phone(live_server, browser, transactional_db, settings):
    organisation = OrganisationFactory()
    application = SenderApplicationFactory(organisation=organisation)
    administrator = CitizenFactory()
    portal_services.grant_role(organisation, administrator.national_number, SenderRole.Role.ADMINISTRATOR)
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = False
    context = new_context(browser, viewport={"width": WIDTH, "height": 800})
    try:
        session_for(context, live_server, administrator.national_number, "Test", "Admin")
        page = context.new_page()
        page.goto(live_server.url + "/sender/api-access/")
        page.get_by_role("link", name=f"Callbacks of {application.application_id}: off").click()
        page.wait_for_load_state("load")
        check(page)
        page.get_by_role("textbox", name="Callback URL").fill("https://10.1.2.3/hook")
        page.get_by_role("button", name="Save and show a new signing secret").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.get_by_text("must not point to a private or loopback address").first.is_visible()

        page.get_by_role("textbox", name="Callback URL").fill("https://callbacks.example.org/ebox")
        page.get_by_role("button", name="Save and show a new signing secret").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.locator("#callback-secret").inner_text().startswith("whsec_")
        page.get_by_role("link", name="Back to API access").click()
        page.get_by_role("link", name=f"Callbacks of {application.application_id}: on").click()
        page.wait_for_load_state("load")
        check(page)
        assert page.locator("#callback-state").inner_text() == "nothing sent yet"
    finally:
        context.close()
