"""The home page in a real browser, checked with axe-core."""

import pytest

from tests.browser import assert_accessible, assert_sound_html

pytestmark = pytest.mark.browser


def test_home_page_is_accessible_in_chromium(live_server, page, db):
    page.goto(live_server.url + "/")
    assert page.locator("h1").count() == 1
    assert page.locator("html").get_attribute("lang") == "fr"
    assert_accessible(page)
    assert_sound_html(page.content())
