"""The citizen portal's pages and services, through Django's test client on the real database."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core import signing
from django.urls import reverse

from citizens import services as citizen_services
from citizens.models import AccessLogEntry, ActivationChange, Citizen
from demo.data import DEMO_CITIZENS
from messages import crypto
from messages import signing as seal_signing
from messages.models import IntegrityIncident, Message, MessageEvent, Reply
from messages.services import publishing, reading, replies
from tests.browser import assert_sound_html
from tests.factories import CitizenFactory, MessageTypeFactory, OrganisationFactory, SenderApplicationFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def logged_in(client, citizen):
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Test", family_name="Citizen")
    citizen.refresh_from_db()
    client.force_login(citizen.user)
    return citizen


def get_page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert_sound_html(response.content.decode())
    return response


def test_inbox_sends_a_visitor_to_the_oidc_login(client, db):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/oidc/authenticate/?next=/inbox/")


def test_login_service_links_a_user_and_never_activates(db):
    number = DEMO_CITIZENS[3]["national_number"]
    citizen = citizen_services.citizen_logged_in(number, given_name="Lucas", family_name="Martin")
    again = citizen_services.citizen_logged_in(number, given_name="Lucas", family_name="Martin")
    assert citizen.pk == again.pk and again.user_id == citizen.user_id
    assert again.activated_at is None and again.last_connection_at is not None
    assert not ActivationChange.objects.filter(citizen=citizen).exists()


def test_inbox_newest_first_unread_marked_counts_and_filters(client, logged_in, publish):
    older = publish(logged_in.national_number, subject={"fr": "Ancien courrier"})
    newer = publish(logged_in.national_number, subject={"fr": "Nouveau courrier"}, registered_mail=True)
    reading.mark_read(older, actor="citizen")
    other_org_type = MessageTypeFactory(organisation=OrganisationFactory())
    third = publish(
        logged_in.national_number,
        subject={"nl": "Alleen in het Nederlands"},
        sender_application=SenderApplicationFactory(organisation=other_org_type.organisation),
        message_type=other_org_type,
    )
    html = get_page(client, "/inbox/").content.decode()
    assert html.index("Alleen in het Nederlands") < html.index("Nouveau courrier") < html.index("Ancien courrier")
    assert html.count('class="message-row unread"') == 2
    assert "3 messages" in html and "2 non lus" in html

    assert "Ancien courrier" not in get_page(client, "/inbox/?state=unread").content.decode()
    only_registered = get_page(client, "/inbox/?registered=on").content.decode()
    assert "Nouveau courrier" in only_registered and "Ancien courrier" not in only_registered
    by_org = get_page(client, f"/inbox/?organisation={third.sender_organisation_id}").content.decode()
    assert "Alleen in het Nederlands" in by_org and "Nouveau courrier" not in by_org
    by_type = get_page(client, f"/inbox/?type={newer.message_type_id}").content.decode()
    assert "Nouveau courrier" in by_type and "Alleen" not in by_type
    # A filter value that is not a number is ignored, never a 500.
    assert client.get("/inbox/?organisation=abc&page=zz").status_code == 200


def test_search_decrypts_only_this_citizens_messages(client, logged_in, publish):
    publish(logged_in.national_number, subject={"fr": "Taxe de séjour"}, body={"fr": "Montant à payer : 12 €"})
    publish(logged_in.national_number, subject={"fr": "Pension"}, body={"fr": "Votre relevé annuel"})
    stranger = CitizenFactory()
    publish(stranger.national_number, subject={"fr": "Taxe secrète d'un autre"})
    html = get_page(client, "/inbox/?q=taxe").content.decode()
    assert "Taxe de séjour" in html and "Pension" not in html and "secrète" not in html
    # Body text, case and accents folded.
    assert "Pension" in get_page(client, "/inbox/?q=RELEVE").content.decode()
    assert "Aucun message ne correspond" in get_page(client, "/inbox/?q=introuvable").content.decode()


def test_pagination_and_archive(client, logged_in, publish):
    messages = [
        publish(logged_in.national_number, subject={"fr": f"Lettre {i:02d}"}, attachments=[]) for i in range(22)
    ]
    first = get_page(client, "/inbox/").content.decode()
    assert "Lettre 21" in first and "Lettre 01" not in first and "Page 1 sur 2" in first
    assert "Lettre 01" in get_page(client, "/inbox/?page=2").content.decode()

    response = client.post(reverse("citizens:visibility", args=[messages[5].pk]), {"visible": "0"})
    assert response.status_code == 302
    assert "Lettre 05" not in get_page(client, "/inbox/?page=2").content.decode()
    archive = get_page(client, "/inbox/?view=archive").content.decode()
    assert "Lettre 05" in archive and "Lettre 06" not in archive
    client.post(reverse("citizens:visibility", args=[messages[5].pk]), {"visible": "1"})
    messages[5].refresh_from_db()
    assert messages[5].hidden_at is None
    kinds = list(MessageEvent.objects.filter(message=messages[5]).values_list("kind", flat=True))
    assert kinds[-2:] == ["hidden", "unhidden"]


def test_message_page_shows_content_payment_qr_and_marks_read(client, logged_in, publish):
    message = publish(
        logged_in.national_number,
        subject={"fr": "Taxe communale", "nl": "Gemeentebelasting"},
        body={"fr": "Veuillez payer.", "nl": "Gelieve te betalen."},
        body_main_content=True,
        registered_mail=True,
        payment_data={
            "amount": 80,
            "currency": "EUR",
            "dueDate": "2026-12-31",
            "iban": "BE39679200300019",
            "reference": {"structured": "+++090/9337/55493+++"},
        },
        business_data=[{"key": "file", "name": {"fr": "Dossier", "nl": "Dossier"}, "values": [{"fr": "2026/42"}]}],
    )
    html = get_page(client, f"/inbox/{message.pk}/").content.decode()
    assert "<h1>Taxe communale</h1>" in html and "Veuillez payer." in html
    assert "BE39 6792 0030 0019" in html and "+++090/9337/55493+++" in html
    assert "data:image/svg+xml;charset=utf-8," in html and "2026/42" in html
    assert "Recommandé" in html and f"/inbox/{message.pk}/evidence.json" in html
    message.refresh_from_db()
    assert message.read_at is not None
    assert AccessLogEntry.objects.filter(citizen=logged_in, message=message, action="opened", accessor="").exists()

    # Another language: Dutch for a Dutch reader, French where the sender gave no Dutch.
    client.cookies["ebox_language"] = "nl"
    assert "<h1>Gemeentebelasting</h1>" in client.get(f"/inbox/{message.pk}/").content.decode()
    client.cookies["ebox_language"] = "de"
    assert '<h1 lang="fr">Taxe communale</h1>' in client.get(f"/inbox/{message.pk}/").content.decode()


def test_epc_qr_code_carries_the_payment(client, logged_in, publish):
    from citizens.views import _payment

    shown = _payment(
        {
            "amount": 412.37,
            "currency": "EUR",
            "iban": "BE39 6792 0030 0019",
            "reference": {"structured": "+++090/9337/55493+++"},
        },
        "SPF Finances",
    )
    from urllib.parse import unquote

    import segno.helpers

    svg = unquote(shown["qr_src"].removeprefix("data:image/svg+xml;charset=utf-8,"))
    # A standalone SVG image needs its namespace, or the browser shows only the alt text.
    assert svg.startswith("<svg xmlns='http://www.w3.org/2000/svg'") and shown["iban_display"] == "BE39 6792 0030 0019"
    expected = segno.helpers.make_epc_qr(
        name="SPF Finances", iban="BE39679200300019", amount=412.37, text="+++090/9337/55493+++"
    )
    assert shown["qr_src"] == expected.svg_data_uri(scale=4, border=4)


def test_attachment_download_matches_what_was_published_and_marks_read(client, logged_in, publish, pdf_bytes):
    message = publish(logged_in.national_number)
    attachment = message.content.attachments.get()
    html = get_page(client, f"/inbox/{message.pk}/").content.decode()
    message.refresh_from_db()
    assert message.read_at is None  # the main content is the PDF, not yet opened
    assert '<object class="pdf"' in html and "?inline=1" in html
    response = client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk]))
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(pdf_bytes).hexdigest()
    assert response["Content-Disposition"].startswith("attachment") and "letter.pdf" in response["Content-Disposition"]
    inline = client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk]) + "?inline=1")
    assert inline["Content-Disposition"].startswith("inline")
    message.refresh_from_db()
    assert message.read_at is not None
    # The PDF shown inside the message page is not a download (issue 18).
    assert AccessLogEntry.objects.filter(citizen=logged_in, action="downloaded").count() == 1


def test_another_citizens_message_is_404(client, logged_in, publish):
    other = CitizenFactory()
    message = publish(other.national_number)
    attachment = message.content.attachments.get()
    assert client.get(f"/inbox/{message.pk}/").status_code == 404
    assert client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk])).status_code == 404
    assert client.post(reverse("citizens:visibility", args=[message.pk]), {"visible": "0"}).status_code == 404
    assert client.post(reverse("citizens:reply", args=[message.pk]), {"text": "x"}).status_code == 404
    message.refresh_from_db()
    assert message.read_at is None and message.hidden_at is None
    assert not AccessLogEntry.objects.filter(message=message).exists()
    # Not yet sealed: not in the inbox either.
    unsealed = publish(logged_in.national_number, seal=False)
    assert client.get(f"/inbox/{unsealed.pk}/").status_code == 404


def test_tampered_message_is_withheld_and_recorded(client, logged_in, publish):
    message = publish(logged_in.national_number, subject={"fr": "Original"})
    Message.objects.filter(pk=message.pk).update(registered_mail=True)  # changes what the seal covers
    html = get_page(client, f"/inbox/{message.pk}/").content.decode()
    assert "Original" not in html and 'role="alert"' in html
    assert IntegrityIncident.objects.filter(message=message).exists()
    message.refresh_from_db()
    assert message.read_at is None


def test_tampered_attachment_is_withheld(client, logged_in, publish):
    from django.core.files.storage import default_storage

    message = publish(logged_in.national_number)
    attachment = message.content.attachments.get()
    with default_storage.open(attachment.blob, "rb") as f:
        blob = bytearray(f.read())
    blob[-5] ^= 1
    default_storage.delete(attachment.blob)
    default_storage.save(attachment.blob, io.BytesIO(bytes(blob)))
    response = client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk]))
    assert response.status_code == 409
    assert_sound_html(response.content.decode())
    assert IntegrityIncident.objects.filter(message=message).exists()


def test_reply_is_encrypted_sealed_and_logged(client, logged_in, publish, pdf_bytes):
    message = publish(logged_in.national_number, reply_authorized=True)
    upload = io.BytesIO(pdf_bytes)
    upload.name = "réponse.pdf"
    response = client.post(
        reverse("citizens:reply", args=[message.pk]), {"text": "Bien reçu, merci.", "attachment": upload}
    )
    assert response.status_code == 302
    reply = Reply.objects.get(message=message)
    assert b"merci" not in bytes(reply.text_ct)
    key = crypto.unwrap_key(reply.kek_id, reply.wrapped_key)
    text = crypto.decrypt_field(key, reply.id, "text", reply.text_ct).decode()
    assert text == "Bien reçu, merci."
    assert seal_signing.verify(replies.reply_document(reply, text), reply.seal_key_id, reply.seal)
    assert reply.attachment_sha256 == hashlib.sha256(pdf_bytes).hexdigest()
    assert MessageEvent.objects.filter(message=message, kind="replied").exists()
    assert AccessLogEntry.objects.filter(message=message, action="replied").exists()


def test_reply_refused_when_not_allowed_or_not_a_pdf(client, logged_in, publish):
    closed = publish(logged_in.national_number, reply_authorized=False)
    assert client.post(reverse("citizens:reply", args=[closed.pk]), {"text": "x"}).status_code == 404
    with pytest.raises(replies.ReplyNotAllowed):
        replies.reply_to_message(closed, logged_in, "x")
    open_ = publish(logged_in.national_number, reply_authorized=True)
    fake = io.BytesIO(b"MZ not a pdf")
    fake.name = "virus.pdf"
    response = client.post(reverse("citizens:reply", args=[open_.pk]), {"text": "x", "attachment": fake}, follow=True)
    assert "Seuls des fichiers PDF" in response.content.decode()
    assert client.post(reverse("citizens:reply", args=[open_.pk]), {"text": ""}).status_code == 200
    assert not Reply.objects.exists()


def test_activation_needs_consent_and_email_and_sends_the_link_after_commit(
    client, db, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    citizen = CitizenFactory(activated=False)
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    client.force_login(citizen.user)
    get_page(client, "/activate/")
    response = client.post("/activate/", {"email": "a@example.org", "language": "nl"})
    assert response.status_code == 200 and "Cochez la case" in response.content.decode()
    assert_sound_html(response.content.decode())
    response = client.post("/activate/", {"consent": "on", "email": "not an address", "language": "nl"})
    assert response.status_code == 200
    html = response.content.decode()
    assert_sound_html(html)
    # The field points at its error and hint, and both exist.
    assert 'aria-describedby="id_email_helptext id_email_error"' in html
    assert 'id="id_email_error"' in html and 'id="id_email_helptext"' in html
    citizen.refresh_from_db()
    assert citizen.activated_at is None and not mailoutbox
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/activate/", {"consent": "on", "email": "a@example.org", "language": "nl"})
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.is_activated and citizen.preferred_language == "nl" and citizen.email_verified_at is None
    assert len(mailoutbox) == 1 and mailoutbox[0].subject == "Bevestig uw e-mailadres voor eBox"
    link = next(line for line in mailoutbox[0].body.splitlines() if "/verify-email/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    get_page(client, "/" + path)
    client.post("/" + path)
    citizen.refresh_from_db()
    assert citizen.email_verified_at is not None
    # Deactivation needs its own confirmation; history keeps both steps.
    client.post("/activate/deactivate/", {})
    citizen.refresh_from_db()
    assert citizen.is_activated
    client.post("/activate/deactivate/", {"confirm": "1"})
    citizen.refresh_from_db()
    assert not citizen.is_activated
    kinds = set(citizen.activation_history.values_list("kind", flat=True))
    assert {"activated", "email_verified", "deactivated"} <= kinds


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/o/authorize/?client_id=x&scope=ebox.read", "/o/authorize/?client_id=x&scope=ebox.read"),
        ("https://evil.example/phish", "/activate/"),
        ("//evil.example/phish", "/activate/"),
    ],
)
def test_activation_returns_only_to_a_page_of_ours(client, db, target, expected):
    citizen = CitizenFactory(activated=False)
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    client.force_login(citizen.user)
    page = get_page(client, "/activate/?" + urlencode({"next": target})).content.decode()
    assert ('<input type="hidden" name="next"' in page) == (expected == target)
    response = client.post(
        "/activate/?" + urlencode({"next": target}), {"consent": "on", "email": "a@example.org", "language": "fr"}
    )
    assert response.status_code == 302 and response["Location"] == expected
    citizen.refresh_from_db()
    assert citizen.is_activated


def test_verification_link_rejects_forged_expired_and_stale_tokens(client, db, settings):
    citizen = CitizenFactory(activated=True, email="old@example.org", email_verified_at=None)
    forged = signing.dumps({"c": citizen.pk, "e": "old@example.org"}, salt="another-salt")
    assert client.get(f"/verify-email/{forged}/").status_code == 400
    token = citizen_services.email_verification_token(citizen, "old@example.org")
    settings.EBOX_EMAIL_VERIFICATION_MAX_AGE = -1
    assert client.post(f"/verify-email/{token}/").status_code == 400
    settings.EBOX_EMAIL_VERIFICATION_MAX_AGE = 3600
    Citizen.objects.filter(pk=citizen.pk).update(email="new@example.org")
    client.post(f"/verify-email/{token}/")
    citizen.refresh_from_db()
    assert citizen.email_verified_at is None  # the link was for the old address


def test_settings_change_email_language_notifications_and_show_the_access_log(
    client, logged_in, publish, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    message = publish(logged_in.national_number)
    client.get(f"/inbox/{message.pk}/")
    html = get_page(client, "/settings/").content.decode()
    assert "a ouvert le message" in html and "Vous" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/", {"email": "new@example.org", "language": "de", "notify_new_messages": "on"}
        )
    assert response.status_code == 302 and response.cookies["ebox_language"].value == "de"
    logged_in.refresh_from_db()
    # The verified address keeps the notifications until the new one is confirmed.
    assert logged_in.pending_email == "new@example.org" and logged_in.email_verified_at is not None
    assert logged_in.preferred_language == "de"
    assert logged_in.notify_new_messages and not logged_in.notify_reminders
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@example.org"]
    # An activated citizen cannot remove the address notifications go to.
    response = client.post("/settings/", {"email": "", "language": "de"})
    assert response.status_code == 200
    logged_in.refresh_from_db()
    assert logged_in.pending_email == "new@example.org" and logged_in.email


def test_language_switch_stores_the_citizens_preference(client, logged_in):
    response = client.post("/language/", {"language": "nl", "next": "/inbox/"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    logged_in.refresh_from_db()
    assert logged_in.preferred_language == "nl"
    html = client.get("/inbox/").content.decode()
    assert '<html lang="nl">' in html and "Mijn berichten" in html


def test_first_visit_follows_accept_language(client, db):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="de-BE,de;q=0.9").content.decode()
    assert '<html lang="de">' in html and "Ihre amtlichen Briefe" in html


def test_devidp_accounts_are_the_demo_citizens():
    from demo.management.commands.devidp_accounts import accounts_json

    assert (ROOT / "devidp" / "accounts.json").read_text() == accounts_json()
    numbers = [a["national_number"] for a in json.loads(accounts_json())]
    assert numbers == [c["national_number"] for c in DEMO_CITIZENS]


def test_catalogues_are_complete():
    for language in ("fr", "nl", "de", "en"):
        po = (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").read_text()
        assert (ROOT / "locale" / language / "LC_MESSAGES" / "django.mo").exists()
        assert 'msgstr ""\n\n' not in po.split("\n\n", 1)[1] + "\n", f"untranslated strings in {language}"
        assert "#, fuzzy" not in po


def test_large_attachment_is_streamed_whole(client, logged_in, publish):
    big = b"%PDF-1.4\n" + bytes(range(256)) * (5 * 4096)  # 5 MB: spooled to disk before sending
    message = publish(
        logged_in.national_number,
        attachments=[
            publishing.AttachmentUpload(file=io.BytesIO(big), file_name="big.pdf", media_type="application/pdf")
        ],
    )
    attachment = message.content.attachments.get()
    response = client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk]))
    assert response.status_code == 200 and int(response["Content-Length"]) == len(big)
    assert hashlib.sha256(b"".join(response.streaming_content)).digest() == hashlib.sha256(big).digest()


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"national_number": "85.07.30-033.28", "given_name": "Marie"}, "85073003328"),
        ({"national_number": "85073003329"}, None),  # bad check digits
        ({"sub": "someone"}, None),  # no national number at all
    ],
)
def test_oidc_backend_maps_the_national_number_claim(db, claims, expected):
    from citizens.auth import CitizenOIDCBackend

    backend = CitizenOIDCBackend()
    # What the IdP's userinfo endpoint answered (the HTTP exchange itself is covered by the browser tests).
    backend.get_userinfo = lambda access_token, id_token, payload: claims
    user = backend.get_or_create_user("token", "id-token", {})
    if expected is None:
        assert user is None and not Citizen.objects.exists()
    else:
        citizen = Citizen.objects.get(national_number=expected)
        assert user == citizen.user and user.first_name == "Marie" and citizen.activated_at is None


def test_oidc_claim_name_is_configurable(db, settings):
    from citizens.auth import CitizenOIDCBackend

    settings.OIDC_NATIONAL_NUMBER_CLAIM = "urn:be:fedict:rrn"
    backend = CitizenOIDCBackend()
    backend.get_userinfo = lambda access_token, id_token, payload: {"national_number": "92041512329"}
    assert backend.get_or_create_user("t", "i", {"urn:be:fedict:rrn": "92041512329"}) is not None
    assert backend.get_or_create_user("t", "i", {}) is None  # the default claim name is not read any more


def test_inbox_and_settings_warn_when_our_emails_bounce(client, logged_in, publish, settings):
    from messages.notifications import mail, sending
    from tests.smtp_sink import Sink

    logged_in.activated_at = logged_in.email_verified_at = logged_in.last_connection_at
    logged_in.email = "gone@example.be"
    logged_in.save()
    page = get_page(client, "/inbox/").content.decode()
    assert "gone@example.be" not in page  # no problem, no banner

    # A real SMTP server refuses the address for good.
    sink = Sink().start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        mail.clear_cache()
        sink.handler.reject_with = "550 5.1.1 mailbox unavailable"
        publish(logged_in.national_number)
        assert sending.send_due().failed == 1
    finally:
        sink.stop()

    for url in ("/inbox/", "/settings/"):
        page = get_page(client, url).content.decode()
        assert 'class="notice notice-warning" role="alert"' in page and "gone@example.be" in page
    assert 'href="/settings/#id_email"' in get_page(client, "/inbox/").content.decode()

    # A new address clears the warning.
    client.post(
        "/settings/",
        {"email": "new@example.be", "language": "fr", "notify_new_messages": "on", "notify_reminders": "on"},
    )
    assert "notice-warning" not in get_page(client, "/inbox/").content.decode()
