"""`make screenshots`: every portal and public page, four languages × three widths, then the admin pages
and the API documentation at three widths, in Debian's Chromium, written under
.data/screenshots/<language>/<width>/ and .data/screenshots/admin/<width>/ (not committed).
Skipped by `make test`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.browser import new_context
from tests.test_admin_browser import admin_pages
from tests.test_layout_browser import LANGUAGES, MARIE, PUBLIC_PAGES, WIDTHS, log_in, portal_pages, set_language
from tests.test_public_browser import demo  # noqa: F401 - fixture (the demo data)

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("EBOX_SCREENSHOTS", ROOT / ".data" / "screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.environ.get("EBOX_SCREENSHOTS"), reason="make screenshots (EBOX_SCREENSHOTS=dir)"),
]


def _name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def test_screenshots(live_server, browser, demo):  # noqa: F811
    for width in WIDTHS:
        context = new_context(browser, viewport={"width": width, "height": 900})
        page = context.new_page()
        pages = [("public", p) for p in PUBLIC_PAGES]
        for language in LANGUAGES:
            set_language(context, live_server, language)
            for _, path in pages:
                page.goto(live_server.url + path)
                target = OUT / language / str(width) / f"{_name(path)}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target), full_page=True)
        citizen = log_in(context, live_server, MARIE)
        for language in LANGUAGES:
            set_language(context, live_server, language)
            for path in portal_pages(citizen):
                page.goto(live_server.url + path)
                page.wait_for_load_state("load")
                name = "message" if re.match(r"/inbox/[0-9a-f-]{36}/", path) else _name(path)
                page.screenshot(path=str(OUT / language / str(width) / f"{name}.png"), full_page=True)
        context.close()
    # Operators: the admin and the API documentation (in English).
    operator = get_user_model().objects.create_superuser("operator", "operator@ebox.example", "screenshots only")
    client = Client()
    client.force_login(operator)
    for width in WIDTHS:
        context = new_context(browser, locale="en-GB", viewport={"width": width, "height": 900})
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        for path in ["/api/v2/docs/", *admin_pages()]:
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            name = "admin-message-change" if path.endswith("/change/") else _name(path)
            target = OUT / "admin" / str(width) / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
        context.close()
