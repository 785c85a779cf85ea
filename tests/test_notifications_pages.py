"""The development mail view and the delivery-problem banner in a real browser, checked with axe-core."""

from time import time_ns

import pytest

from tests.browser import assert_accessible
from tests.test_notifications import _write_eml

pytestmark = pytest.mark.browser


def test_the_development_mail_view_is_accessible(live_server, page, settings, db):
    settings.EBOX_DEV_MAIL_VIEW = True
    name = f"{time_ns()}-0badc0de.eml"
    _write_eml(settings, name, "Accessible dev mail")
    page.goto(live_server.url + "/dev/mail/")
    assert_accessible(page)
    page.get_by_role("link", name="Accessible dev mail").click()
    page.wait_for_url(f"**/dev/mail/{name}/")
    assert page.frame_locator("iframe").locator("text=SPF Finances").count() == 1
    assert_accessible(page)
