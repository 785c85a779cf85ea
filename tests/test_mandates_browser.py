"""The mailbox switcher and the mandate pages in Debian's Chromium at 320 px, on the demo data:
the director opens the bakery's eBox, grants the accountant a mandate, the accountant reads the
letter, the director revokes it. axe-core on every page; nothing sticks out of a phone's screen."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from citizens import services as citizen_services
from demo.loader import load_demo
from mandates.models import Mandate
from tests.browser import assert_accessible, assert_no_csp_violation, assert_sound_html, new_context
from tests.test_layout_browser import assert_fits

pytestmark = pytest.mark.browser

MARIE, THOMAS = "85073003328", "80051212368"
WIDTH = 320


@pytest.fixture
def demo(transactional_db):
    load_demo()


def session_for(context, live_server, number: str, given: str, family: str) -> None:
    """A real session on the live server (the OIDC round trip itself is tested in test_portal_browser)."""
    person = citizen_services.citizen_logged_in(number, given_name=given, family_name=family)
    client = Client()
    client.force_login(person.user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )


def check(page) -> None:
    page.wait_for_load_state("load")
    assert_fits(page, WIDTH)
    assert_no_csp_violation(page)
    assert_accessible(page)
    assert_sound_html(page.content())


def open_menu(page) -> None:
    """At 320 px the header's tools are behind the menu button."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()


def switch_to(page, name: str) -> None:
    open_menu(page)
    page.get_by_label("eBox", exact=True).select_option(label=name)
    page.locator(".mailbox-switcher button").click()
    page.wait_for_load_state("load")


def test_director_grants_accountant_reads_director_revokes(live_server, browser, demo):
    marie_context = new_context(browser, viewport={"width": WIDTH, "height": 800})
    thomas_context = new_context(browser, viewport={"width": WIDTH, "height": 800})
    try:
        session_for(marie_context, live_server, MARIE, "Marie", "Dubois")
        page = marie_context.new_page()
        page.goto(live_server.url + "/inbox/")
        check(page)
        open_menu(page)
        options = page.locator("#mailbox-select option").all_inner_texts()
        assert options == ["Marie Dubois", "Boulangerie Dubois SRL", "Léa Dubois"]

        switch_to(page, "Boulangerie Dubois SRL")
        assert page.get_by_text("You are in the eBox of Boulangerie Dubois SRL").is_visible()
        assert page.get_by_text("Corporate income tax").first.is_visible()
        check(page)

        page.goto(live_server.url + "/mandates/")
        check(page)
        assert page.get_by_text("from the official register").first.is_visible()
        page.get_by_label("National register number of the person").fill("80.05.12-123.69")
        page.get_by_role("button", name="Give the mandate").click()
        page.wait_for_load_state("load")
        assert page.get_by_text("There is a problem").is_visible()
        check(page)  # the error summary and the field's error fit and are accessible too
        page.get_by_label("National register number of the person").fill("80.05.12-123.68")
        page.get_by_label("read", exact=True).check()
        page.get_by_role("button", name="Give the mandate").click()
        page.wait_for_load_state("load")
        # He never logged in yet: eBox names him as the citizen record does (the demo's register name).
        assert page.get_by_text("Thomas Lambert may now open this eBox.").is_visible()
        check(page)

        # The accountant logs in: the bakery is in his switcher; he reads its letter.
        session_for(thomas_context, live_server, THOMAS, "Thomas", "Lambert")
        accountant = thomas_context.new_page()
        accountant.goto(live_server.url + "/inbox/")
        switch_to(accountant, "Boulangerie Dubois SRL")
        accountant.get_by_role("link", name="Corporate income tax").first.click()
        accountant.wait_for_load_state("load")
        assert accountant.get_by_role("heading", name="Corporate income tax").first.is_visible()
        check(accountant)

        # The director sees who read it; then revokes: the accountant's next page is his own eBox.
        page.goto(live_server.url + "/settings/")
        assert page.get_by_text("Thomas Lambert, delegate (accountant, employee)").first.is_visible()
        page.goto(live_server.url + "/mandates/")
        page.get_by_role("button", name="Revoke the mandate of Thomas Lambert").click()
        page.wait_for_load_state("load")
        assert Mandate.objects.get(role="delegate").revoked_at is not None
        check(page)
        assert accountant.reload().status == 404  # the letter he had open
        accountant.goto(live_server.url + "/inbox/")
        assert accountant.locator("#mailbox-select").count() == 0
        assert accountant.get_by_text("Corporate income tax").count() == 0
    finally:
        marie_context.close()
        thomas_context.close()
