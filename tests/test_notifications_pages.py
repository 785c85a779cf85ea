"""The development mail view and the delivery-problem banner in a real browser, checked with axe-core."""

from time import time_ns

import pytest

from tests.browser import assert_accessible
from tests.test_notifications import _write_eml

pytestmark = pytest.mark.browser


def test_the_development_mail_view_is_accessible(live_server, page, settings, transactional_db, admin_user):
    from django.test import Client

    settings.EBOX_DEV_MAIL_VIEW = True
    staff = Client()  # the view is staff only, even in development
    staff.force_login(admin_user)
    cookie = staff.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    name = f"{time_ns()}-0badc0de.eml"
    _write_eml(settings, name, "Accessible dev mail")
    page.goto(live_server.url + "/dev/mail/")
    assert_accessible(page)
    page.get_by_role("link", name="Accessible dev mail").click()
    page.wait_for_url(f"**/dev/mail/{name}/")
    assert page.frame_locator("iframe").locator("text=SPF Finances").count() == 1
    assert_accessible(page)


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_the_email_html_is_accessible(page, language):
    from messages.notifications import mail

    for digest in (
        mail.Digest("new_mail", language, ("SPF Finances", "Ville de Bruxelles"), 2, 1),
        mail.Digest("reminder", language, ("CPAS de Liège",), 3, 1, 1, 1, 1),
    ):
        rendered = mail.render(digest)
        page.set_content(rendered.html)
        assert page.locator("html").get_attribute("lang") == language
        assert page.title() == rendered.subject
        assert_accessible(page)
