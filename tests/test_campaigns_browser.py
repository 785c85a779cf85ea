"""A campaign in Debian's Chromium at 320 px, with axe on every page: a civil servant uploads 1,000 rows with
three bad ones, watches the real worker check them ("Checking rows… N of 1000", then the page loads
again by itself) and sees the three cells to fix, uploads the fixed file, sends it, and watches the progress bar
(polled from PostgreSQL) reach 1,000 published and sealed through a real Celery worker; a reload shows it."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from sender_portal import services as portal
from sender_portal.models import SenderRole
from tests.browser import assert_accessible, assert_sound_html, new_context
from tests.campaign_support import campaign_files
from tests.test_layout_browser import assert_fits, log_in, set_language

pytestmark = [pytest.mark.browser, pytest.mark.worker]

SOPHIE = "79041212340"  # the demo's civil servant (demo.data), known to the development IdP


def check_page(page) -> None:
    assert_fits(page, 320)
    assert_accessible(page)
    assert_sound_html(page.content())


def test_a_civil_servant_fixes_three_cells_sends_a_thousand_letters_and_watches_them_sealed(
    live_server, browser, celery_worker_process, organisation, message_type, tmp_path
):
    portal.grant_role(organisation, SOPHIE, SenderRole.Role.ADMINISTRATOR)
    context = new_context(browser, viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        log_in(context, live_server, SOPHIE)
        set_language(context, live_server, "en")
        page.goto(live_server.url + "/sender/campaigns/")
        assert page.get_by_role("heading", name="Campaigns", level=1).is_visible()
        assert page.get_by_role("link", name="Download the template (CSV)").is_visible()
        check_page(page)

        broken = {9: ("recipient", "85073003399"), 499: ("payment_amount", "douze"), 899: ("pdf", "missing.pdf")}
        for label, rows in (("bad", broken), ("fixed", {})):
            sheet, documents, _ = campaign_files(1000, rows)
            (tmp_path / f"{label}.csv").write_bytes(sheet)
            (tmp_path / f"{label}.zip").write_bytes(documents)

        page.fill("#id_name", "Avertissements 2026")
        page.set_input_files("#id_spreadsheet", str(tmp_path / "bad.csv"))
        page.set_input_files("#id_documents", str(tmp_path / "bad.zip"))
        with page.expect_navigation():
            page.get_by_role("button", name="Check the spreadsheet").click()
        assert page.get_by_text("Their rows are being checked").is_visible()
        assert page.get_by_text("Checking rows…").is_visible()
        summary = page.get_by_text("The spreadsheet has 3 problems: nothing was sent or kept.")
        summary.wait_for(timeout=120_000)  # the script loads the page again once the worker is done
        errors = page.locator("#row-errors tbody tr")
        assert errors.count() == 3
        seen = [errors.nth(i).locator("td").all_text_contents()[:2] for i in range(3)]
        assert seen == [["11", "A (recipient)"], ["501", "H (payment_amount)"], ["901", "F (pdf)"]]
        assert Campaign.objects.get().status == Campaign.Status.INVALID
        assert page.get_by_role("button", name="Send 1000 letters").count() == 0
        check_page(page)

        with page.expect_navigation():
            page.get_by_role("link", name="New campaign").click()
        page.fill("#id_name", "Avertissements 2026")
        page.set_input_files("#id_spreadsheet", str(tmp_path / "fixed.csv"))
        page.set_input_files("#id_documents", str(tmp_path / "fixed.zip"))
        with page.expect_navigation():
            page.get_by_role("button", name="Check the spreadsheet").click()
        page.get_by_role("button", name="Send 1000 letters").wait_for(timeout=120_000)
        assert page.get_by_text("0 of 1000 letters published").is_visible()
        check_page(page)

        with page.expect_navigation():
            page.get_by_role("button", name="Send 1000 letters").click()
        # The page's script polls the progress; the bar fills without a reload.
        published = page.locator("[data-field='published']")
        sealed = page.locator("[data-field='sealed']")
        page.wait_for_function(
            "() => document.querySelector(\"[data-field='sealed']\").textContent.trim() === '1000'", timeout=240_000
        )
        assert published.inner_text() == "1000" and sealed.inner_text() == "1000"
        assert page.locator("#campaign-bar").get_attribute("value") == "1000"
        check_page(page)

        page.reload()  # from PostgreSQL: a reload shows the same progress
        assert page.get_by_text("1000 of 1000 letters published").is_visible()
        assert page.locator("[data-field='status_label']").inner_text() == "sent"
        assert page.get_by_role("link", name="Download the report (CSV)").is_visible()
        check_page(page)
    finally:
        context.close()
