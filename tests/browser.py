"""Browser test support: Debian's Chromium driven by Playwright, axe-core and CSP checks.

Never a downloaded browser: Playwright launches /usr/bin/chromium. axe-core comes from
node_modules (package.json). Pages run under their real Content-Security-Policy (no
bypass_csp): axe is loaded as a same-origin script file (`/__axe__/axe.min.js`, answered by the
browser context from node_modules, never by the server), which `script-src 'self'` allows. Every
CSP violation a page causes, in any of its frames, shows as a console error that
`new_context` records; `assert_no_csp_violation` fails on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


AXE_PATH = "/__axe__/axe.min.js"
CSP_MARK = "Content Security Policy"


def new_context(browser, **options):
    """A browser context under the pages' own CSP that records CSP violations (context.csp_violations)
    (axe_violations answers axe-core's same-origin URL from node_modules)."""
    options.setdefault("locale", "fr-BE")
    context = browser.new_context(**options)
    context.csp_violations = []

    def on_console(message) -> None:
        # axe-core itself sets inline styles while it measures colour contrast: not the page's doing.
        source = (message.location or {}).get("url", "")
        if message.type == "error" and CSP_MARK in message.text and not source.endswith(AXE_PATH):
            page_url = message.page.url if message.page else "?"
            context.csp_violations.append(f"{page_url}: {message.text} (at {source or 'the document'})")

    context.on("console", on_console)
    return context


@pytest.fixture
def page(browser):
    context = new_context(browser, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def assert_no_csp_violation(page) -> None:
    """Nothing on the pages seen so far in this context was blocked by the Content-Security-Policy."""
    page.wait_for_load_state("load")
    violations, page.context.csp_violations[:] = list(page.context.csp_violations), []
    assert violations == [], f"CSP violations: {violations}"


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the current page; return the violations of those impacts."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        if not hasattr(page.context, "csp_violations"):
            raise AssertionError("open browser contexts with tests.browser.new_context (axe and CSP checks)")
        origin = page.evaluate("location.origin")
        if origin == "null":  # a page set from content (an e-mail's HTML): no origin, no CSP of ours
            page.add_script_tag(path=str(AXE_JS))
            return _axe_run(page, impacts)
        # Routing only for this request: with interception on, Chromium aborts navigations to
        # downloads (the favicon) and the skip link's fragment navigation behaves differently.
        pattern = f"**{AXE_PATH}"
        page.route(pattern, lambda route: route.fulfill(path=str(AXE_JS), content_type="text/javascript"))
        try:
            page.add_script_tag(url=origin + AXE_PATH)
        finally:
            page.unroute(pattern)
    return _axe_run(page, impacts)


def _axe_run(page, impacts: tuple[str, ...]) -> list[dict]:
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"


def assert_sound_html(html: str) -> None:
    """One <h1>, a <title> that starts with it, no duplicate ids, a label for every input (Notify's page check)."""
    from html.parser import HTMLParser

    class Collector(HTMLParser):
        def __init__(self):
            super().__init__()
            self.h1, self.title, self.ids, self.inputs, self.labels = [], "", [], [], set()
            self._in = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "id" in attrs:
                self.ids.append(attrs["id"])
            if tag in ("h1", "title"):
                self._in = tag
                if tag == "h1":
                    self.h1.append("")
            if tag == "label" and attrs.get("for"):
                self.labels.add(attrs["for"])
            if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit", "button"):
                self.inputs.append(attrs)

        def handle_endtag(self, tag):
            if tag == self._in:
                self._in = None

        def handle_data(self, data):
            if self._in == "h1":
                self.h1[-1] += data
            elif self._in == "title":
                self.title += data

    c = Collector()
    c.feed(html)
    assert len(c.h1) == 1, f"expected one <h1>, found {len(c.h1)}"
    h1 = " ".join(c.h1[0].split())
    assert " ".join(c.title.split()).startswith(h1), f"<title> {c.title!r} does not start with <h1> {h1!r}"
    duplicates = {i for i in c.ids if c.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    for field in c.inputs:
        assert field.get("id") in c.labels or field.get("aria-label") or field.get("aria-labelledby"), (
            f"input without a label: {field}"
        )
