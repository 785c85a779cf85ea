"""The sender portal end to end in Debian's Chromium at 320 px: Sophie (a civil servant) logs in through the
development IdP, sends a letter with a PDF, and Marie reads it in the citizen portal; a statistics-only
colleague sees no way to send. axe-core and the 320 px fit on every portal page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from citizens import services as citizen_services
from citizens.models import Citizen
from ebox.pdf import simple_pdf
from messages.models import Message
from messages.services import replies, sealing
from sender_portal import services as portal_services
from senders import services as sender_services
from tests.browser import assert_accessible, assert_sound_html, new_context
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.portal_support import devidp, oidc_settings  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser]

SOPHIE, MARIE = "79041212340", "85073003328"  # demo.data: a civil servant and an activated citizen
WIDTH = 320


def check_page(page) -> None:
    """axe, sound HTML, no CSP violation, and nothing wider than a 320 px phone."""
    assert_accessible(page)
    assert_sound_html(page.content())
    assert page.context.csp_violations == []
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    width = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
            .filter(e => { const r = e.getBoundingClientRect(); return r.width && (r.right > w + 0.5 || r.left < -0.5)
                           && !e.closest('.visually-hidden, .skip-link'); })
            .slice(0, 5).map(e => e.outerHTML.slice(0, 120))""",
        WIDTH,
    )
    assert width <= WIDTH and not culprits, f"{page.url}: {width}px wide; {culprits}"


def idp_login(page, live_server, path: str, name: str) -> None:
    page.goto(live_server.url + path)
    assert "/interaction/" in page.url
    page.get_by_role("button", name=re.compile(name)).click()
    page.wait_for_url(live_server.url + path)


@pytest.fixture
def phone(browser):
    context = new_context(browser, viewport={"width": WIDTH, "height": 800}, accept_downloads=True)
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": "http://127.0.0.1"}])
    yield context
    context.close()


def test_sophie_sends_a_letter_with_a_pdf_that_marie_reads(
    live_server,
    oidc_settings,  # noqa: F811 - fixture
    browser,
    phone,
    tmp_path,
    transactional_db,
):
    finance = sender_services.create_organisation("0308357159", {"fr": "SPF Finances", "en": "FPS Finance"})
    MessageTypeFactory(organisation=finance, message_type_id="tax-assessment", name={"en": "Tax assessment"})
    citizen_services.citizen_logged_in(SOPHIE, given_name="Sophie", family_name="Lambert")
    CitizenFactory(national_number=MARIE, activated=True)
    portal_services.grant_role(finance, SOPHIE, "administrator")
    phone.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page = phone.new_page()

    idp_login(page, live_server, "/sender/", "Sophie Lambert")
    assert "FPS Finance" in page.content()
    check_page(page)

    page.get_by_role("link", name="Send a letter").first.click()
    check_page(page)
    page.select_option("#id_message_type", "tax-assessment")
    page.fill("#id_recipient", "85.07.30-033.28")
    page.locator("#recipient-channel", has_text="Digital").wait_for()  # checked as typed
    page.fill("#id_subject_fr", "Votre avertissement-extrait de rôle 2026")
    page.fill("#id_body_fr", "Madame, veuillez trouver votre avertissement ci-joint.")
    pdf = tmp_path / "avertissement.pdf"
    pdf.write_bytes(simple_pdf("Avertissement-extrait de rôle", ["Montant: 120,00 EUR"]))
    page.set_input_files("#id_documents", str(pdf))
    page.fill("#id_amount", "120.00")
    page.fill("#id_iban", "BE71 0961 2345 6769")
    page.fill("#id_reference", "+++090/9337/55493+++")
    page.fill("#id_due_date", "2027-01-31")
    page.check("#id_reply_authorized")
    page.get_by_role("button", name="Preview the letter").click()
    page.wait_for_url(live_server.url + "/sender/send/preview/")
    assert "Votre avertissement-extrait de rôle 2026" in page.locator("article").inner_text()
    assert page.locator("figure.qr img").evaluate("img => img.complete && img.naturalWidth > 0")
    check_page(page)
    assert not Message.objects.exists()

    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url(re.compile(r"/sender/letters/[0-9a-f-]+/$"))
    message = Message.objects.get()
    assert "The letter was sent." in page.content()
    check_page(page)
    sealing.seal_messages([message.id])
    message.refresh_from_db()
    assert message.reply_authorized and message.status == "sealed"
    page.reload()
    assert "sealed" in page.locator("ol").inner_text()
    check_page(page)

    page.goto(live_server.url + "/sender/letters/")
    check_page(page)

    # Marie replies; Sophie reads the reply, assigns it to herself and answers in the thread.
    reply = replies.reply_to_message(message, Citizen.objects.get(national_number=MARIE), "Je conteste le montant.")
    page.goto(live_server.url + "/sender/replies/")
    check_page(page)
    page.locator(f"a[href='/sender/replies/{reply.pk}/']").click()
    assert "Je conteste le montant." in page.content()
    check_page(page)
    page.select_option("#assign", label="Sophie Lambert")
    page.get_by_role("button", name="Assign", exact=True).click()
    check_page(page)
    page.get_by_role("link", name="Answer with a letter").click()
    assert page.input_value("#id_recipient") == MARIE
    check_page(page)
    page.fill("#id_subject_fr", "Réponse à votre contestation")
    page.fill("#id_body_fr", "Madame, le montant est correct.")
    page.get_by_role("button", name="Preview the letter").click()
    page.get_by_role("button", name="Send the letter").click()
    page.wait_for_url(re.compile(r"/sender/letters/[0-9a-f-]+/$"))
    answer = Message.objects.exclude(pk=message.pk).get()
    assert answer.original_message_id == message.pk
    page.goto(live_server.url + "/sender/replies/?show=handled")
    assert page.locator(f"a[href='/sender/replies/{reply.pk}/']").count() == 1
    check_page(page)

    # Team and API access, with the secret shown once.
    page.goto(live_server.url + "/sender/team/")
    page.fill("#id_national_number", "92.04.15-123.29")
    page.select_option("#id_role", "statistics")
    page.get_by_role("button", name="Give the role").click()
    assert "Your colleague can log in now." in page.content()
    check_page(page)
    page.goto(live_server.url + "/sender/api-access/")
    check_page(page)
    page.fill("#id_name", "MyMinfin")
    page.get_by_role("button", name="Create the application").click()
    assert page.locator("#client-secret").inner_text()
    check_page(page)
    page.goto(live_server.url + "/sender/api-access/")
    assert "myminfin-0308357159" in page.content() and "never" in page.content()
    check_page(page)
    page.get_by_role("button", name="Menu").click()  # collapsed at 320 px
    page.click("form.logout button")
    page.wait_for_url(live_server.url + "/logged-out/")

    # Marie reads it in the citizen portal (her own browser).
    other = new_context(browser, viewport={"width": WIDTH, "height": 800}, accept_downloads=True)
    marie = other.new_page()
    idp_login(marie, live_server, "/inbox/", "Marie Dubois")
    marie.get_by_role("link", name=re.compile("Votre avertissement-extrait de rôle 2026")).click()
    assert marie.locator("h1").inner_text() == "Votre avertissement-extrait de rôle 2026"
    assert "BE71 0961 2345 6769" in marie.content()
    with marie.expect_download() as download:
        marie.locator("a[download]").first.click()
    assert download.value.path().read_bytes() == pdf.read_bytes()
    other.close()


def test_a_statistics_only_colleague_sees_no_send_button_and_gets_403(live_server, phone, transactional_db):
    finance = sender_services.create_organisation("0308357159", {"fr": "SPF Finances", "en": "FPS Finance"})
    colleague = citizen_services.citizen_logged_in("85073003328", given_name="Marie", family_name="Dubois")
    portal_services.grant_role(finance, colleague.national_number, "statistics")
    client = Client()
    client.force_login(colleague.user)
    phone.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )
    page = phone.new_page()
    page.goto(live_server.url + "/sender/")
    check_page(page)
    assert page.get_by_role("link", name="Send a letter").count() == 0
    page.goto(live_server.url + "/sender/letters/")
    check_page(page)
    response = page.goto(live_server.url + "/sender/send/")
    assert response.status == 403
    check_page(page)
