"""The portal's words, dates and forms (issue 18), through Django's test client on the real database."""

from __future__ import annotations

import pytest

from citizens.models import AccessLogEntry
from tests.test_portal import get_page, logged_in  # noqa: F401 - fixture

DUE = {"fr": "31 décembre 2026", "nl": "31 december 2026", "de": "31. Dezember 2026", "en": "31 December 2026"}


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_due_dates_from_the_api_are_localised(client, logged_in, publish, language):  # noqa: F811
    message = publish(
        logged_in.national_number,
        payment_data={
            "amount": 12.5,
            "currency": "EUR",
            "dueDate": "2026-12-31T00:00:00+01:00",
            "iban": "BE71096123456769",
        },
    )
    client.cookies["ebox_language"] = language
    html = get_page(client, f"/inbox/{message.pk}/").content.decode()
    assert f'<time datetime="2026-12-31">{DUE[language]}</time>' in html
    assert "2026-12-31T00:00:00" not in html
    assert {"fr": "12,50 EUR", "nl": "12,50 EUR", "de": "12,50 EUR", "en": "12.50 EUR"}[language] in html
    inbox = get_page(client, "/inbox/").content.decode()
    assert DUE[language] in inbox


def test_a_refused_reply_comes_back_with_the_text_and_the_error_at_the_field(client, logged_in, publish):  # noqa: F811
    message = publish(logged_in.national_number, reply_authorized=True)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/inbox/{message.pk}/reply/",
        {"text": "Mon texte & <b>gras</b>", "attachment": SimpleUploadedFile("x.pdf", b"GIF89a")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert ">Mon texte &amp; &lt;b&gt;gras&lt;/b&gt;</textarea>" in html
    assert '<a href="#id_attachment">Seuls des fichiers PDF peuvent être joints.</a>' in html
    assert 'aria-invalid="true" aria-describedby="id_attachment_error"' in html
    assert not message.replies.exists()
    # A refused reply is not a second opening of the message.
    assert AccessLogEntry.objects.filter(message=message, action="opened").count() == 0

    client.post(f"/inbox/{message.pk}/reply/", {"text": "Je paie demain."})
    html = get_page(client, f"/inbox/{message.pk}/").content.decode()
    assert "Je paie demain." in html  # the citizen sees the reply they sent


def test_the_embedded_pdf_is_not_logged_as_a_download(client, logged_in, publish):  # noqa: F811
    message = publish(logged_in.national_number)
    attachment = message.content.attachments.get()
    get_page(client, f"/inbox/{message.pk}/")
    assert client.get(f"/inbox/{message.pk}/attachments/{attachment.pk}/?inline=1").status_code == 200
    actions = list(AccessLogEntry.objects.filter(message=message).values_list("action", flat=True))
    assert actions == ["opened"]
    client.get(f"/inbox/{message.pk}/attachments/{attachment.pk}/")
    assert AccessLogEntry.objects.filter(message=message, action="downloaded").count() == 1


def test_the_logged_out_page(client, db):
    html = get_page(client, "/logged-out/").content.decode()
    assert "<h1>Vous êtes déconnecté</h1>" in html


READ = {"fr": "Ouvrez votre eBox :", "nl": "Open uw eBox:", "de": "Öffnen Sie Ihre eBox:", "en": "Open your eBox:"}
ONE = {
    "fr": "Un nouveau message vous attend",
    "nl": "Er wacht een nieuw bericht",
    "de": "wartet eine neue Nachricht",
    "en": "A new message is waiting",
}


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_e_mails_agree_with_their_count(language):
    from messages.notifications import mail as notification_mail

    texts = {}
    for count in (1, 2):
        digest = notification_mail.Digest(
            kind="new_mail",
            language=language,
            organisations=("SPF Finances",),
            message_count=count,
            registered_count=0,
        )
        rendered = notification_mail.render(digest)
        texts[count] = rendered.subject + "\n" + rendered.text
        assert READ[language] in rendered.text
    assert ONE[language] in texts[1] and ONE[language] not in texts[2]
    assert "2 " in texts[2].split("\n")[0]  # the subject counts: "2 nouveaux messages…"
    # Nothing addresses one message when there are two ("Consultez-le", "Read it").
    for singular in ("Consultez-le", "Read it", "Lees het", "Lesen Sie sie"):
        assert singular not in texts[2]


def test_the_settings_confirmation_speaks_the_new_language(client, logged_in):  # noqa: F811
    client.cookies["ebox_language"] = "fr"
    response = client.post(
        "/settings/", {"email": "x@example.org", "language": "de", "notify_new_messages": "on"}, follow=True
    )
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Ihre Einstellungen sind gespeichert." in html
