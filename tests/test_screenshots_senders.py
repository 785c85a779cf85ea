"""`make screenshots`, the senders' side: every /sender/ page for an administrator (Sophie) and the mandate
pages and mailbox switcher for Marie, four languages × three widths, under .data/screenshots/<language>/<width>/;
and the CPAS clerk's walkthrough in French at 320 and 1280 px, numbered, under
.data/screenshots/walkthrough/cpas/<width>/. Each walkthrough step asserts what the clerk sees, so the
walkthrough fails when a step breaks. Skipped by `make test`."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.utils import translation
from django.utils.translation import gettext, ngettext

from citizens.models import Citizen
from ebox.pdf import simple_pdf
from messages.models import Message, Reply
from messages.services import replies
from tests.browser import new_context
from tests.campaign_support import campaign_files
from tests.portal_support import devidp, oidc_settings  # noqa: F401 - fixtures
from tests.test_layout_browser import LANGUAGES, MARIE, WIDTHS, set_language
from tests.test_mandates_browser import open_menu, session_for, switch_to
from tests.test_public_browser import demo  # noqa: F401 - fixture (the demo data)
from tests.test_screenshots import OUT, _name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.skipif(not os.environ.get("EBOX_SCREENSHOTS"), reason="make screenshots (EBOX_SCREENSHOTS=dir)"),
]

SOPHIE, JULIE = "79041212340", "88061412485"  # demo.data: FPS Finance's administrator, the CPAS clerk
SENDER_PAGES = ("/sender/", "/sender/send/", "/sender/letters/", "/sender/replies/", "/sender/campaigns/",
                "/sender/team/", "/sender/api-access/")  # fmt: skip


def fr(msgid: str) -> str:
    """What the French page says for `msgid` (the walkthrough is in French)."""
    with translation.override("fr"):
        return gettext(msgid)


def shoot(page, target) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)


def test_sender_and_mandate_pages(live_server, browser, demo):  # noqa: F811
    letter = Message.objects.filter(sender_organisation__enterprise_number="0308357159").first()
    for width in WIDTHS:
        context = new_context(browser, viewport={"width": width, "height": 900})
        page = context.new_page()
        session_for(context, live_server, SOPHIE, "Sophie", "Lambert")
        for language in LANGUAGES:
            set_language(context, live_server, language)
            for path in [*SENDER_PAGES, f"/sender/letters/{letter.pk}/"]:
                page.goto(live_server.url + path)
                page.wait_for_load_state("load")
                name = "sender-letter" if path.endswith(f"{letter.pk}/") else _name(path)
                shoot(page, OUT / language / str(width) / f"{name}.png")
        context.close()
        # Marie: her mandates, then the bakery's eBox opened through the switcher (its menu open).
        context = new_context(browser, viewport={"width": width, "height": 900})
        page = context.new_page()
        session_for(context, live_server, MARIE, "Marie", "Dubois")
        for language in LANGUAGES:
            set_language(context, live_server, language)
            page.goto(live_server.url + "/mandates/")
            shoot(page, OUT / language / str(width) / "mandates.png")
            page.goto(live_server.url + "/inbox/")
            switch_to(page, "Boulangerie Dubois SRL")
            open_menu(page)
            shoot(page, OUT / language / str(width) / "mailbox-switcher-bakery.png")
            page.goto(live_server.url + "/mandates/")
            shoot(page, OUT / language / str(width) / "mandates-bakery.png")
            switch_to(page, "Marie Dubois")
        context.close()


def _wait_sealed(message: Message, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while message.status != Message.Status.SEALED:
        assert time.monotonic() < deadline, f"{message.pk} not sealed: {message.status}"
        time.sleep(0.5)
        message.refresh_from_db()


def test_cpas_clerk_walkthrough(
    live_server,
    oidc_settings,  # noqa: F811 - fixture
    browser,
    celery_worker_process,
    demo,  # noqa: F811
    tmp_path,
):
    pdf = tmp_path / "decision-revision.pdf"
    pdf.write_bytes(simple_pdf("CPAS de Liege - Revision", ["Votre aide est revue au 1er janvier."]))
    sheet, documents, _ = campaign_files(3, {1: ("payment_amount", "douze")})
    (tmp_path / "bad.csv").write_bytes(sheet)
    sheet, _, _ = campaign_files(3)
    (tmp_path / "fixed.csv").write_bytes(sheet)
    (tmp_path / "letters.zip").write_bytes(documents)
    for width in (320, 1280):
        out = OUT / "walkthrough" / "cpas" / str(width)
        context = new_context(browser, viewport={"width": width, "height": 900})
        set_language(context, live_server, "fr")
        page = context.new_page()
        subject = f"Révision de votre aide sociale ({width})"

        page.goto(live_server.url + "/sender/")
        assert "/interaction/" in page.url
        login = page.get_by_role("button", name=re.compile("Julie Renard"))
        assert login.is_visible()
        shoot(page, out / "01-login.png")
        login.click()
        page.wait_for_url(live_server.url + "/sender/")
        assert page.locator("main").get_by_text("CPAS de Liège").first.is_visible()
        shoot(page, out / "02-home.png")

        page.get_by_role("link", name=fr("Send a letter")).first.click()
        page.select_option("#id_message_type", "social-decision")
        page.fill("#id_recipient", "85.07.30-033.28")
        page.wait_for_function("() => document.querySelector('#recipient-channel').textContent.trim() !== ''")
        page.fill("#id_subject_fr", subject)
        page.fill("#id_body_fr", "Madame, veuillez trouver ci-joint la décision de révision de votre aide.")
        page.set_input_files("#id_documents", str(pdf))
        page.check("#id_reply_authorized")
        assert page.get_by_role("button", name=fr("Preview the letter")).is_visible()
        shoot(page, out / "03-send-form.png")
        page.get_by_role("button", name=fr("Preview the letter")).click()
        page.wait_for_url(live_server.url + "/sender/send/preview/")
        assert subject in page.locator("article").inner_text()
        assert page.get_by_text(fr("Below is the letter as the recipient will see it in their eBox.")).is_visible()
        assert "4" not in page.locator(".notice").inner_text()  # written in French only: no count of languages
        shoot(page, out / "04-preview.png")
        page.get_by_role("button", name=fr("Send the letter")).click()
        page.wait_for_url(re.compile(r"/sender/letters/[0-9a-f-]+/$"))
        assert page.get_by_text(fr("The letter was sent.")).is_visible()
        letter = Message.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])
        _wait_sealed(letter)  # by the real Celery worker
        page.reload()
        assert page.get_by_role("heading", name=fr("Timeline")).is_visible()
        assert "Décision d'aide sociale" in page.locator("h1").inner_text()
        shoot(page, out / "05-sent.png")

        marie_context = new_context(browser, viewport={"width": width, "height": 900})
        session_for(marie_context, live_server, MARIE, "Marie", "Dubois")
        set_language(marie_context, live_server, "fr")
        marie = marie_context.new_page()
        marie.goto(live_server.url + "/inbox/")
        assert marie.get_by_role("link", name=re.compile(re.escape(subject))).is_visible()
        shoot(marie, out / "06-marie-inbox.png")
        marie_context.close()

        page.goto(live_server.url + "/sender/campaigns/")
        assert page.get_by_role("heading", name=fr("Campaigns"), level=1).is_visible()
        page.fill("#id_name", f"Rappels de documents ({width})")
        page.set_input_files("#id_spreadsheet", str(tmp_path / "bad.csv"))
        page.set_input_files("#id_documents", str(tmp_path / "letters.zip"))
        shoot(page, out / "07-campaign-upload.png")
        with page.expect_navigation():
            page.get_by_role("button", name=fr("Check the spreadsheet")).click()
        with translation.override("fr"):
            problems = ngettext(
                "The spreadsheet has %(n)s problem: nothing was sent or kept.",
                "The spreadsheet has %(n)s problems: nothing was sent or kept.",
                1,
            ) % {"n": 1}
        # A worker checks the rows ("Checking rows…"); the page loads again once it is done.
        page.get_by_text(problems).wait_for(timeout=120_000)
        assert page.locator("#row-errors tbody tr").count() == 1
        caption = page.locator("#row-errors caption")  # it shrank to a word a line in the stacked table
        assert caption.is_visible() and caption.bounding_box()["width"] > width / 2
        shoot(page, out / "08-campaign-errors.png")
        page.goto(live_server.url + "/sender/campaigns/")
        page.fill("#id_name", f"Rappels de documents ({width})")
        page.set_input_files("#id_spreadsheet", str(tmp_path / "fixed.csv"))
        page.set_input_files("#id_documents", str(tmp_path / "letters.zip"))
        with page.expect_navigation():
            page.get_by_role("button", name=fr("Check the spreadsheet")).click()
        page.locator("form[action$='/send/'] button").wait_for(timeout=120_000)  # every row checked, valid
        with page.expect_navigation():
            page.locator("form[action$='/send/'] button").click()
        page.wait_for_function(
            "() => document.querySelector(\"[data-field='sealed']\").textContent.trim() === '3'", timeout=120_000
        )
        page.reload()
        assert page.locator("#campaign-bar").get_attribute("value") == "3"
        shoot(page, out / "09-campaign-sent.png")

        # Marie replies to the letter of step 05 (in her portal: the service it calls).
        reply = replies.reply_to_message(
            letter, Citizen.objects.get(national_number=MARIE), "Merci. Dois-je renvoyer mes fiches de paie ?"
        )
        page.goto(live_server.url + "/sender/replies/")
        assert page.locator(f"a[href='/sender/replies/{reply.pk}/']").is_visible()
        shoot(page, out / "10-replies.png")
        page.locator(f"a[href='/sender/replies/{reply.pk}/']").click()
        assert page.get_by_text("Dois-je renvoyer mes fiches de paie ?").is_visible()
        page.get_by_role("link", name=fr("Answer with a letter")).click()
        page.fill("#id_subject_fr", "Réponse : vos fiches de paie")
        page.fill("#id_body_fr", "Madame, inutile de les renvoyer : nous les avons reçues.")
        page.get_by_role("button", name=fr("Preview the letter")).click()
        page.get_by_role("button", name=fr("Send the letter")).click()
        page.wait_for_url(re.compile(r"/sender/letters/[0-9a-f-]+/$"))
        page.goto(live_server.url + f"/sender/replies/{reply.pk}/")
        assert page.get_by_text(fr("Answered by")).is_visible()
        assert page.get_by_role("button", name=fr("Mark as to handle")).is_visible()
        shoot(page, out / "11-reply-answered.png")
        assert Reply.objects.filter(message__sender_organisation__enterprise_number="0212001913").count() >= 2
        context.close()
