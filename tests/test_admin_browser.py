"""The operators' admin and the API documentation in Debian's Chromium at 320, 768 and 1280 px, with the
demo data: axe-core finds nothing serious or critical, nothing is blocked by the Content-Security-Policy,
the page never scrolls sideways. What cannot fit a phone (an admin changelist's table, an opened API
operation's code example) scrolls inside its own box (Django's #changelist .results, our swagger.css)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from messages.models import Message
from tests.browser import assert_accessible, assert_no_csp_violation, new_context
from tests.test_layout_browser import WIDTHS, assert_fits
from tests.test_public_browser import demo  # noqa: F401 - fixture (the demo data)

pytestmark = pytest.mark.browser

PASSWORD = "a long operator passphrase"


def admin_pages() -> list[str]:
    message = Message.objects.order_by("received_at").first()
    return [
        "/admin/",
        "/admin/mailbox/message/",
        f"/admin/mailbox/message/{message.pk}/change/",
        "/admin/citizens/citizen/",
        "/admin/operations/",
    ]


def assert_fits_or_scrolls_in_a_box(page, width: int) -> None:
    """The page never scrolls sideways; what is wider than the screen (a changelist's results table, a
    code example) scrolls inside its own box, which fits."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate(
        """w => {
            const scroller = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return a; } return null; };
            const out = e => { const r = e.getBoundingClientRect(); return r.width && (r.right > w + 0.5 || r.left < -0.5); };
            return [...document.querySelectorAll('body *')]
                .filter(e => out(e) && !e.closest('.visually-hidden, .skip-link'))
                .filter(e => { const s = scroller(e); return !s || out(s); })
                .slice(0, 5).map(e => e.outerHTML.slice(0, 120)); }""",
        width,
    )
    assert scroll_width <= width and not culprits, f"{page.url} at {width}px: {scroll_width}px wide; {culprits}"


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_and_api_docs_are_accessible_fit_and_keep_to_the_csp(live_server, browser, demo, width):  # noqa: F811
    get_user_model().objects.create_superuser("operator", "operator@ebox.example", PASSWORD)
    context = new_context(browser, locale="en-GB", viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/api/v2/docs/")
        page.locator(".opblock").first.wait_for()
        assert page.locator("html").get_attribute("lang") == "en"
        assert_no_csp_violation(page)
        assert_fits(page, width)
        assert_accessible(page)
        page.locator(".opblock-summary-control").first.click()  # an operation opened
        page.locator(".opblock-body").first.wait_for()
        assert_no_csp_violation(page)
        assert_fits_or_scrolls_in_a_box(page, width)
        assert_accessible(page)

        page.goto(live_server.url + "/admin/login/?next=/admin/")
        assert_no_csp_violation(page)
        assert_fits(page, width)
        assert_accessible(page)
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.locator("#login-form [type=submit]").click()
        assert page.url == live_server.url + "/admin/"
        for path in admin_pages():
            page.goto(live_server.url + path)
            assert_no_csp_violation(page)
            assert_fits_or_scrolls_in_a_box(page, width)
            assert_accessible(page)
    finally:
        context.close()
