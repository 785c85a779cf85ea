"""Every page a citizen sees is in their language: no English sentence left on the fr, nl and de pages.

The pages are rendered through Django's test client with the language cookie, as a browser that
chose a language would. The English sentences come from the compiled catalogue itself, so a string
added to the source and left untranslated, or a sentence written outside gettext that the
catalogue also holds, fails here.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import html
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from citizens import services as citizen_services
from messages.notifications import mail as notification_mail
from tests.browser import assert_sound_html
from tests.factories import CitizenFactory

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "nl", "de")

# A handful of key sentences, checked by name so a failure reads plainly.
KEY_SENTENCES = [
    "Skip to main content",
    "My messages",
    "Log out",
    "eBox, the digital mailbox of public services. Open source.",
    "Change",
]


def catalogue(language: str) -> dict:
    with open(ROOT / "locale" / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        return gettext.GNUTranslations(mo)._catalog


def english_sentences(language: str) -> list[str]:
    """Msgids of three words or more whose translation differs: seeing one on the page means a miss."""
    found = []
    for msgid, msgstr in catalogue(language).items():
        if not isinstance(msgid, str) or not msgid or "%" in msgid or "{" in msgid or msgid == msgstr:
            continue
        if len(msgid.split()) >= 3 and len(msgid) >= 15:
            found.append(msgid)
    return found


def visible_text(page: str) -> str:
    """The page's text and attribute values, unescaped, with whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attributes = " ".join(re.findall(r'(?:aria-label|alt|title|placeholder)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page) + " " + attributes
    return re.sub(r"\s+", " ", html.unescape(text))


def assert_no_english(page: str, language: str, url: str) -> None:
    text = visible_text(page)
    leftovers = [s for s in english_sentences(language) if s in text]
    leftovers += [s for s in KEY_SENTENCES if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]
    assert not leftovers, f"English left on {url} in {language}: {leftovers}"


@pytest.fixture
def demo_citizen(db, publish):
    """An activated citizen with a sealed message, logged in through the same service as the OIDC login."""
    citizen = CitizenFactory(activated=True)
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Marie", family_name="Dupont")
    citizen.refresh_from_db()
    message = publish(
        citizen.national_number,
        subject={"fr": "Avis d'imposition", "nl": "Aanslagbiljet", "de": "Steuerbescheid"},
        body={"fr": "Votre avis.", "nl": "Uw aanslag.", "de": "Ihr Bescheid."},
        registered_mail=True,
    )
    return citizen, message


@pytest.fixture
def partner(db):
    partner, secret = citizen_services.create_partner_application(
        name={"fr": "Coffre-fort Démo", "nl": "Demo Kluis", "de": "Demo-Tresor"},
        redirect_uris=["https://partner.example/callback"],
        scopes=["ebox.read", "ebox.manage"],
    )
    return partner


def client_in(language: str, user=None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


def consent_url(partner) -> str:
    query = {
        "response_type": "code",
        "client_id": partner.oauth_application.client_id,
        "redirect_uri": "https://partner.example/callback",
        "scope": "ebox.read ebox.manage",
        "state": "xyz",
        "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(b"v" * 48).digest()).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return "/o/authorize/?" + urlencode(query)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_have_no_english_left(language, demo_citizen, partner):
    citizen, message = demo_citizen
    visitor = client_in(language)
    pages = {"/": visitor, "/organisations/": visitor, "/statistics/": visitor}
    logged_in = client_in(language, citizen.user)
    pages |= {
        "/inbox/": logged_in,
        f"/inbox/{message.pk}/": logged_in,
        "/inbox/?hidden=1": logged_in,
        "/activate/": logged_in,
        "/settings/": logged_in,
        "/settings/apps/": logged_in,
        consent_url(partner): logged_in,
    }
    for url, client in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        page = response.content.decode()
        assert f'<html lang="{language}">' in page, url
        assert_sound_html(page)
        assert_no_english(page, language, url)


@pytest.mark.parametrize("language", LANGUAGES)
def test_error_pages_are_translated(language, db):
    response = client_in(language).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert_sound_html(page)
    assert_no_english(page, language, "404")
    assert {"fr": "Page introuvable", "nl": "Pagina niet gevonden", "de": "Seite nicht gefunden"}[language] in page


def test_a_not_activated_citizen_sees_the_activation_consent_in_dutch(db):
    citizen = CitizenFactory()
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    page = client_in("nl", citizen.user).get("/activate/").content.decode()
    assert_no_english(page, "nl", "/activate/")
    assert "Mijn eBox activeren" in page and 'name="consent"' in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_emails_are_in_the_citizens_language(language, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    citizen = CitizenFactory(preferred_language=language, email="marie@example.org")
    assert citizen_services.send_verification_email(citizen.pk, citizen.email)
    sent = mail.outbox[-1]
    texts = {"verification": sent.subject + "\n" + sent.body}
    for kind in ("new_mail", "reminder"):
        digest = notification_mail.Digest(
            kind=kind,
            language=language,
            organisations=("SPF Finances",),
            message_count=2,
            registered_count=1,
            unread_registered_count=1,
            expiring_count=1,
            payment_due_count=1,
        )
        rendered = notification_mail.render(digest)
        texts[kind] = rendered.subject + "\n" + rendered.text
        texts[kind + ".html"] = visible_text(rendered.html)
    for name, text in texts.items():
        leftovers = [s for s in english_sentences(language) if s in text]
        leftovers += [s for s in ("Hello,", "Sent by:", "Open your eBox:") if s in text]
        assert not leftovers, f"English left in the {name} e-mail in {language}: {leftovers}"


def test_every_catalogue_holds_the_same_msgids():
    ids = {language: set(catalogue(language)) for language in ("fr", "nl", "de", "en")}
    assert ids["fr"] == ids["nl"] == ids["de"] == ids["en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_development_mail_pages_are_translated(language, db, settings, tmp_path, admin_user):
    settings.DATA_DIR = tmp_path
    settings.EBOX_DEV_MAIL_VIEW = True
    rendered = notification_mail.render(
        notification_mail.Digest(
            kind="new_mail", language=language, organisations=("SPF Finances",), message_count=1, registered_count=0
        )
    )
    (tmp_path / "mail").mkdir()
    name = "1-abcdef12.eml"
    (tmp_path / "mail" / name).write_bytes(notification_mail.personalise(rendered, "marie@example.be", 1))
    client = client_in(language, admin_user)  # the view is staff only
    for url in ("/dev/mail/", f"/dev/mail/{name}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert_sound_html(page)
        assert_no_english(page, language, url)


def test_the_admin_names_our_models_in_dutch(db, admin_user):
    page = client_in("nl", admin_user).get("/admin/").content.decode()
    for dutch in (
        "Burgers",
        "Afzenders",
        "Partnerapplicaties",
        "Berichten",
        "Meldingsmails",
        "Integriteitsincidenten",
        "Organisaties",
    ):
        assert dutch in page, dutch
    for english in ("Partner apps", "Notification e-mails", "Integrity incidents", "Message events"):
        assert english not in page, english


@pytest.mark.parametrize(
    ("language", "event", "action"),
    [
        ("fr", "archivé", "a archivé"),
        ("nl", "gearchiveerd", "heeft gearchiveerd"),
        ("de", "archiviert", "hat archiviert"),
    ],
)
def test_an_archived_message_and_the_act_of_archiving_are_worded_apart(language, event, action):
    """One English word, two meanings: a message's state (its events) and a citizen's act (the access log)."""
    from django.utils import translation

    from citizens.models import AccessLogEntry
    from messages.models import MessageEvent

    with translation.override(language):
        assert str(MessageEvent.Kind.HIDDEN.label) == event
        assert str(AccessLogEntry.Action.HIDDEN.label) == action
