"""Every portal and public page at 320, 768 and 1280 px in Debian's Chromium, with the demo data:
nothing overflows sideways, every image renders, nothing is blocked by the Content-Security-Policy,
axe-core finds nothing serious, the header stays compact and says who is logged in."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from citizens import services as citizen_services
from citizens.models import Citizen
from messages.models import Message
from tests.browser import assert_accessible, assert_no_csp_violation, assert_sound_html, new_context
from tests.test_public_browser import demo  # noqa: F401 - fixture (the demo data)

pytestmark = pytest.mark.browser

MARIE = "85073003328"  # a demo citizen, activated, with letters (one with a payment)
WIDTHS = (320, 768, 1280)
LANGUAGES = ("fr", "nl", "de", "en")
PUBLIC_PAGES = ("/", "/organisations/", "/statistics/", "/logged-out/", "/no-such-page/")


def portal_pages(citizen: Citizen) -> list[str]:
    with_payment = Message.objects.filter(recipient_id=citizen.national_number, payment_due_on__isnull=False).first()
    return [
        "/inbox/",
        "/inbox/?view=archive",
        f"/inbox/{with_payment.pk}/",
        "/settings/",
        "/activate/",
        "/settings/apps/",
    ]


def log_in(context, live_server, national_number: str) -> Citizen:
    """A real session on the live server (the OIDC round trip itself is tested in test_portal_browser)."""
    citizen = citizen_services.citizen_logged_in(
        national_number, given_name="Marie", family_name="Dubois-Van den Berghe"
    )
    client = Client()
    client.force_login(citizen.user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return citizen


def set_language(context, live_server, language: str) -> None:
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])


def assert_fits(page, width: int) -> None:
    """No sideways scrolling, and no element sticking out of the viewport (with every <details> open)."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
            .filter(e => { const r = e.getBoundingClientRect(); return r.width && (r.right > w + 0.5 || r.left < -0.5)
                           && !e.closest('.visually-hidden, .skip-link'); })
            .slice(0, 5).map(e => e.outerHTML.slice(0, 120))""",
        width,
    )
    assert scroll_width <= width and not culprits, f"{page.url} at {width}px: {scroll_width}px wide; {culprits}"


def assert_images_render(page) -> None:
    broken = page.evaluate(
        """() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.outerHTML.slice(0, 120))"""
    )
    assert broken == [], f"{page.url}: images that do not render: {broken}"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_renders_and_is_accessible_at_each_width(live_server, browser, demo, width):  # noqa: F811
    context = new_context(browser, viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        # Logged out, then logged in: every page in every language fits, its images render.
        for language in LANGUAGES:
            set_language(context, live_server, language)
            for path in PUBLIC_PAGES:
                page.goto(live_server.url + path)
                assert_fits(page, width)
                assert_images_render(page)
                assert_no_csp_violation(page)
                if language == "fr":
                    assert_accessible(page)
        citizen = log_in(context, live_server, MARIE)
        for language in LANGUAGES:
            set_language(context, live_server, language)
            for path in portal_pages(citizen):
                page.goto(live_server.url + path)
                page.wait_for_load_state("load")
                assert_fits(page, width)
                assert_images_render(page)
                assert_no_csp_violation(page)
                assert page.locator(".header-user").inner_text().endswith("Marie Dubois-Van den Berghe")
                if language == "fr":
                    assert_accessible(page)
                    assert_sound_html(page.content())
        # The header takes little of the first screen; on a phone or tablet its menu is behind a button.
        page.goto(live_server.url + "/inbox/")
        header = page.locator(".site-header").bounding_box()
        toggle = page.locator(".menu-toggle")
        if width < 1024:  # phones and tablets
            assert header["height"] <= 80, header
            assert toggle.is_visible() and not page.locator("#site-menu").is_visible()
            toggle.click()
            assert toggle.get_attribute("aria-expanded") == "true"
            assert page.locator("#language-select").is_visible() and page.locator("form.logout button").is_visible()
            assert_fits(page, width)
            assert_no_csp_violation(page)
            assert_accessible(page)  # the menu open
        else:
            # A second row when the person also holds mandates (the mailbox switcher): under 18 % of a 900 px screen.
            assert header["height"] <= (160 if page.locator("#mailbox-select").count() else 140), header
            assert not toggle.is_visible() and page.locator("form.logout button").is_visible()
            # "Se déconnecter", "Abmelden": one line each.
            for language in LANGUAGES:
                set_language(context, live_server, language)
                page.goto(live_server.url + "/inbox/")
                button = page.locator("form.logout button")
                line = float(button.evaluate("b => parseFloat(getComputedStyle(b).lineHeight)"))
                assert button.bounding_box()["height"] < 2 * line, language
    finally:
        context.close()


def test_header_buttons_are_readable_in_every_state(live_server, page, db):
    """The "Log in" button was white on white: axe with the pointer over it and with the focus on it."""
    page.goto(live_server.url + "/")
    login = page.locator(".site-header a.button")
    colours = login.evaluate("a => [getComputedStyle(a).color, getComputedStyle(a).backgroundColor]")
    assert colours[0] != colours[1], colours
    assert_accessible(page)
    login.hover()
    assert_accessible(page)
    login.focus()
    assert_accessible(page)
    page.locator("#language-select").focus()
    assert_accessible(page)


def test_language_names_are_each_in_their_own_language(live_server, page, db):
    for language in LANGUAGES:
        set_language(page.context, live_server, language)
        page.goto(live_server.url + "/")
        options = page.locator("#language-select option").all_inner_texts()
        assert options == ["Français", "Nederlands", "Deutsch", "English"], (language, options)


def test_favicon_is_served(live_server, page, db):
    response = page.goto(live_server.url + "/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    page.goto(live_server.url + "/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server.url + icon).status == 200


def test_main_has_no_frame_after_a_form_post(live_server, browser, demo):  # noqa: F811
    context = new_context(browser)
    page = context.new_page()
    try:
        log_in(context, live_server, MARIE)
        page.goto(live_server.url + "/settings/")
        # The skip link (focused directly: a first Tab may land before the page has focus).
        page.locator('a[href="#main"]').first.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**#main")
        with page.expect_navigation():
            page.locator("main form.stack button[type=submit]").click()
        assert page.url.endswith("#main")  # the browser keeps the fragment through the redirect
        style = page.evaluate(
            "(() => { const s = getComputedStyle(document.querySelector('main')); return [s.outlineStyle, s.boxShadow]; })()"
        )
        assert style == ["none", "none"], style
        # The last button of a page does not touch the footer.
        message = Message.objects.filter(recipient_id=MARIE).first()
        page.goto(live_server.url + f"/inbox/{message.pk}/")
        button = page.locator("main button").last.bounding_box()
        footer = page.locator("footer").bounding_box()
        assert footer["y"] - (button["y"] + button["height"]) >= 24
    finally:
        context.close()


def test_a_refused_reply_keeps_the_text_and_points_to_the_field(live_server, browser, publish, citizen, tmp_path):
    message = publish(citizen.national_number, subject={"fr": "Demande de pièces"}, reply_authorized=True)
    context = new_context(browser, viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        log_in(context, live_server, citizen.national_number)
        page.goto(live_server.url + f"/inbox/{message.pk}/")
        not_a_pdf = tmp_path / "photo.pdf"
        not_a_pdf.write_bytes(b"GIF89a, not a PDF")
        page.fill("#id_text", "Voici ma réponse, longue à retaper.")
        page.set_input_files("#id_attachment", str(not_a_pdf))
        with page.expect_navigation():
            page.locator("form#reply").evaluate("form => form.requestSubmit()")
        # What was typed is still there; the error is at its field and summarised, the focus on the summary.
        assert page.input_value("#id_text") == "Voici ma réponse, longue à retaper."
        assert page.evaluate("document.activeElement.dataset.errorSummary") is not None
        summary_link = page.locator(".error-summary a")
        assert summary_link.inner_text() == "Seuls des fichiers PDF peuvent être joints."
        assert page.locator("#id_attachment").get_attribute("aria-invalid") == "true"
        assert "Seuls des fichiers PDF" in page.locator("#id_attachment_error").inner_text()
        summary_link.click()
        assert page.evaluate("document.activeElement.id") == "id_attachment"
        assert_fits(page, 320)
        assert_accessible(page)
        assert_sound_html(page.content())

        # Sent: the citizen sees what they wrote.
        page.set_input_files("#id_attachment", [])
        with page.expect_navigation():
            page.locator("form#reply").evaluate("form => form.requestSubmit()")
        assert "Voici ma réponse, longue à retaper." in page.locator(".reply-sent").inner_text()
        assert page.input_value("#id_text") == ""
        assert_accessible(page)
    finally:
        context.close()


def test_a_csp_violation_is_seen(live_server, page, db):
    """The check of every page above can fail: an inline style the CSP blocks is reported."""
    page.goto(live_server.url + "/")
    assert_no_csp_violation(page)
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="style-src"):
        assert_no_csp_violation(page)
