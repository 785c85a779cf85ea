"""The citizen portal end to end, in Debian's Chromium: the development IdP, a real SMTP sink,
a real Celery worker, axe-core on every page."""

from __future__ import annotations

import hashlib
import re

import pytest

from citizens.models import Citizen
from messages.models import Reply
from tests.browser import assert_accessible, assert_sound_html
from tests.portal_support import devidp, oidc_settings, smtp_sink  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.worker]

ANNA = "78110345605"  # a demo citizen (demo.data), not activated


def check_page(page) -> None:
    assert_accessible(page)
    assert_sound_html(page.content())


@pytest.fixture
def portal_worker(live_server, smtp_sink, monkeypatch, request):  # noqa: F811
    """A real Celery worker that links e-mails to this live server and sends to the SMTP sink."""
    monkeypatch.setenv("PUBLIC_URL", live_server.url)
    return request.getfixturevalue("celery_worker_process")


def login(page, live_server, name: str) -> None:
    page.goto(live_server.url + "/inbox/")
    assert "/interaction/" in page.url  # sent to the identity provider
    check_page(page)
    page.get_by_role("button", name=re.compile(name)).click()
    page.wait_for_url(live_server.url + "/inbox/")


def test_citizen_logs_in_activates_reads_downloads_replies_and_switches_language(
    live_server,
    oidc_settings,  # noqa: F811 - fixture
    portal_worker,
    smtp_sink,  # noqa: F811 - fixture
    publish,
    pdf_bytes,
    page,
    tmp_path,
    settings,  # noqa: F811
):
    settings.PUBLIC_URL = live_server.url
    message = publish(
        ANNA,
        subject={"fr": "Taxe communale 2026", "nl": "Gemeentebelasting 2026"},
        body={"fr": "Veuillez payer la taxe.", "nl": "Gelieve de belasting te betalen."},
        reply_authorized=True,
        payment_data={
            "amount": 125.5,
            "currency": "EUR",
            "dueDate": "2026-12-31",
            "iban": "BE22679200300047",
            "bic": "PCHQBEBB",
            "reference": {"structured": "+++090/9337/55493+++"},
        },
    )

    # Log in through the development IdP; logging in activates nothing.
    login(page, live_server, "Anna Schmitz")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Taxe communale 2026" in page.content()
    check_page(page)
    anna = Citizen.objects.get(national_number=ANNA)
    assert anna.activated_at is None and anna.last_connection_at is not None

    # Activation: consent is required, then the e-mail is confirmed through the link.
    page.locator("main a[href='/activate/']").first.click()
    check_page(page)
    page.fill("#id_email", "not-an-address")
    page.click("main button[type=submit]")
    assert page.locator(".error-message").count() == 2  # a bad address, and consent not given
    check_page(page)
    page.fill("#id_email", "anna@example.org")
    assert Citizen.objects.get(national_number=ANNA).activated_at is None
    page.check("#id_consent")
    page.click("main form.stack button[type=submit]")
    anna.refresh_from_db()
    assert anna.is_activated and anna.email == "anna@example.org" and anna.email_verified_at is None
    check_page(page)

    mail = smtp_sink.wait_for(1)[0]
    assert mail["To"] == "anna@example.org"
    text = mail.get_payload(decode=True).decode()
    assert "Taxe" not in text  # never the content
    link = re.search(r"https?://\S+/verify-email/\S+/", text).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    check_page(page)
    page.click("main button[type=submit]")
    anna.refresh_from_db()
    assert anna.email_verified_at is not None

    # The message page: content, payment with its QR code, the PDF inline; opening marks it read.
    page.goto(live_server.url + "/inbox/")
    page.get_by_role("link", name=re.compile("Taxe communale 2026")).click()
    assert page.locator("h1").inner_text() == "Taxe communale 2026"
    assert "BE22 6792 0030 0047" in page.content()
    qr = page.locator("figure.qr img")
    assert qr.count() == 1
    # Rendered, not just present: a broken SVG leaves only its alt text (naturalWidth 0).
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 100")
    assert page.locator("object.pdf").count() == 1
    check_page(page)
    page.wait_for_load_state("networkidle")
    message.refresh_from_db()
    assert message.read_at is not None

    # Download the attachment: the same bytes as published.
    with page.expect_download() as download_info:
        page.locator("a[download]").first.click()
    downloaded = download_info.value.path().read_bytes()
    assert (
        hashlib.sha256(downloaded).hexdigest()
        == hashlib.sha256(pdf_bytes).hexdigest()
        == (message.content.attachments.get().sha256)
    )

    # Reply with a PDF.
    reply_pdf = tmp_path / "answer.pdf"
    reply_pdf.write_bytes(pdf_bytes)
    page.fill("#id_text", "Merci, je paie cette semaine.")
    page.set_input_files("#id_attachment", str(reply_pdf))
    # The message page embeds the PDF: in headless Chromium the viewer's out-of-process frame
    # intermittently swallows synthetic clicks elsewhere on the page (no request is sent), so the
    # forms on this page are submitted as the browser would on Enter: requestSubmit().
    with page.expect_navigation():
        page.locator("form#reply").evaluate("form => form.requestSubmit()")
    reply = Reply.objects.get(message=message)
    assert reply.attachment_sha256 == hashlib.sha256(pdf_bytes).hexdigest()
    assert b"je paie" not in bytes(reply.text_ct)
    check_page(page)

    # Switch to Dutch on the message page: the page and the stored preference follow.
    page.select_option("#language-select", "nl")
    with page.expect_navigation():
        page.locator("form.language-switcher").evaluate("form => form.requestSubmit()")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.locator("h1").inner_text() == "Gemeentebelasting 2026"
    check_page(page)
    assert Citizen.objects.get(national_number=ANNA).preferred_language == "nl"

    # Search, filters and the archive view.
    page.goto(live_server.url + "/inbox/")
    page.fill("#id_q", "gemeente")
    page.select_option("#id_state", "read")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.get_by_role("link", name=re.compile("Gemeentebelasting 2026")).count() == 1
    check_page(page)
    page.goto(live_server.url + "/inbox/?view=archive")
    check_page(page)

    # Settings and the access log.
    page.goto(live_server.url + "/settings/")
    assert page.locator("table tbody tr").count() >= 3  # opened, downloaded, replied
    check_page(page)

    # Log out: the portal session and the IdP session end.
    page.click("form.logout button")
    page.wait_for_url(live_server.url + "/logged-out/")
    assert page.locator("h1").inner_text() == "U bent afgemeld"  # in the language chosen above
    assert page.locator(".header-user").count() == 0
    check_page(page)
    page.goto(live_server.url + "/inbox/")
    assert "/interaction/" in page.url


def test_login_and_activation_work_by_keyboard(live_server, oidc_settings, page, db):  # noqa: F811
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    check_page(page)
    page.locator("main a.button").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/interaction/"))
    page.locator("#nn").fill("03061278952")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/inbox/")
    lucas = Citizen.objects.get(national_number="03061278952")
    assert lucas.user is not None and not lucas.is_activated

    # Activation by keyboard alone, with the focus always visible.
    page.goto(live_server.url + "/activate/")
    page.locator("#id_email").focus()
    page.keyboard.type("lucas@example.org")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_language"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_consent"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    lucas.refresh_from_db()
    assert lucas.is_activated and lucas.email == "lucas@example.org"
    check_page(page)
