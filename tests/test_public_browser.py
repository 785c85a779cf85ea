"""The public pages in Chromium with the demo data: axe-core, sound HTML, charts, search, four languages."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from demo.loader import load_demo, load_demo_history
from public_pages import statistics
from tests.browser import assert_accessible, assert_sound_html

pytestmark = pytest.mark.browser

TITLES = {
    "organisations": "Organisations that send through eBox",
    "statistics": "eBox in figures",
}


@pytest.fixture
def demo(transactional_db):
    cache.clear()
    load_demo()
    load_demo_history()
    statistics.refresh_statistics()
    yield statistics.compute_summary()
    cache.clear()


def _set_language(page, live_server, language: str) -> None:
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_public_pages_are_accessible_in_every_language(live_server, page, demo, language):
    _set_language(page, live_server, language)
    for path in ("/statistics/", "/organisations/"):
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page)
        assert_sound_html(page.content())
    # Organisation names in the reader's language.
    expected = {"fr": "SPF Finances", "nl": "FOD Financiën", "de": "FÖD Finanzen", "en": "FPS Finance"}[language]
    assert page.get_by_role("heading", name=expected).count() == 1


def test_statistics_page_shows_the_charts_and_their_tables(live_server, page, demo):
    _set_language(page, live_server, "en")
    page.goto(live_server.url + "/statistics/")
    assert page.locator("h1").inner_text() == TITLES["statistics"]
    charts = page.locator("figure svg[role=img]")
    assert charts.count() == 4
    for i in range(4):
        caption_id = charts.nth(i).get_attribute("aria-labelledby")
        assert page.locator(f"#{caption_id}").inner_text()
    assert page.locator("svg .chart-bar").count() >= 2 * 20  # two bar charts of months with messages
    # The data tables are there for screen readers, and open by keyboard.
    summary = page.locator("details summary").first
    summary.focus()
    page.keyboard.press("Enter")
    table = page.locator("details").first.locator("table")
    assert table.is_visible()
    last_row = table.locator("tbody tr").last
    assert last_row.locator("td").last.inner_text() == f"{demo['users']:,}"
    assert_accessible(page)  # with a table open too


def test_organisation_search_by_keyboard(live_server, page, demo):
    _set_language(page, live_server, "en")
    page.goto(live_server.url + "/organisations/")
    assert page.locator("h1").inner_text() == TITLES["organisations"]
    assert page.locator(".directory-entry").count() == 10
    page.get_by_label("Name or enterprise number").fill("liege")
    page.get_by_label("Name or enterprise number").press("Enter")
    page.wait_for_url("**/organisations/?q=liege*")
    assert page.locator(".directory-entry h2").all_inner_texts() == ["CPAS of Liège"]
    page.get_by_role("link", name="Show all organisations").click()
    page.get_by_label("Region").select_option("flanders")
    page.get_by_role("button", name="Search").click()
    assert sorted(page.locator(".directory-entry h2").all_inner_texts()) == ["City of Ghent", "Flemish Tax Agency"]
    assert_accessible(page)
    # The same filters as JSON.
    page.get_by_role("link", name="This list as open data (JSON)").click()
    assert '"count": 2' in page.content()
