"""The sender portal (sender_portal/): access, roles, sending one letter, following, replies, API access.

Through Django's test client on the real database; the browser walk is tests/test_sender_portal_browser.py.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import requests
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEntry
from campaigns.models import Campaign, CampaignRow
from citizens import services as citizen_services
from ebox.pdf import simple_pdf
from messages.models import Message
from messages.services import reading, replies, sealing
from sender_portal import services
from sender_portal.models import ReplyHandling, SenderRole
from sender_portal.services import sending
from senders.models import SenderApplication
from tests.browser import assert_sound_html
from tests.factories import CitizenFactory, MessageTypeFactory, OrganisationFactory
from tests.publication_support import token_session


def log_in(client, person):
    citizen_services.citizen_logged_in(person.national_number, given_name="Test", family_name="Servant")
    person.refresh_from_db()
    client.force_login(person.user)
    client.cookies["ebox_language"] = "en"  # the assertions read the English text
    return person


@pytest.fixture
def administrator(client, organisation):
    person = CitizenFactory()
    services.grant_role(organisation, person.national_number, SenderRole.Role.ADMINISTRATOR)
    return log_in(client, person)


def sender_urls() -> list[str]:
    """Every URL of the portal's URLconf, with sample arguments (so a new page is covered by the 403 test)."""
    resolver = next(
        r for r in get_resolver().url_patterns if isinstance(r, URLResolver) and r.namespace == "sender_portal"
    )
    samples = {"int": "1", "uuid": "00000000-0000-4000-8000-000000000000", "str": "x", "slug": "x"}
    urls = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        for converter, value in samples.items():
            while f"<{converter}:" in route:
                start = route.index(f"<{converter}:")
                route = route[:start] + value + route[route.index(">", start) + 1 :]
        urls.append("/sender/" + route)
    return urls


def test_a_visitor_is_sent_to_the_login_and_back(client, db):
    response = client.get("/sender/")
    assert response.status_code == 302
    assert response["Location"].startswith("/oidc/authenticate/?next=/sender/")


@pytest.mark.parametrize("who", ["citizen", "other_organisation", "revoked"])
def test_every_sender_url_is_403_for_a_citizen_and_another_organisation(client, organisation, who):
    person = CitizenFactory()
    if who == "other_organisation":
        services.grant_role(OrganisationFactory(), person.national_number, SenderRole.Role.ADMINISTRATOR)
        # Choosing our organisation in the session changes nothing: the role is checked on each request.
    if who == "revoked":
        role = services.grant_role(organisation, person.national_number, SenderRole.Role.ADMINISTRATOR)
        services.revoke_role(role)
    log_in(client, person)
    urls = sender_urls()
    assert len(urls) >= 4
    for url in urls:
        for method in (client.get, client.post):
            # Their session names our organisation (a forged or stale choice): re-checked on each request.
            session = client.session
            session["sender_portal_organisation"] = organisation.pk
            session.save()
            response = method(url)
            assert response.status_code == 403, (url, method, response.status_code)
            assert organisation.name() not in response.content.decode()


def test_grant_sender_role_command_and_the_administrator_invites_a_colleague(client, organisation):
    person = CitizenFactory()
    call_command("grant_sender_role", organisation.enterprise_number, person.national_number, "administrator")
    log_in(client, person)
    page = client.get("/sender/")
    assert page.status_code == 200
    assert_sound_html(page.content.decode())
    assert organisation.name() in page.content.decode()

    team = client.get("/sender/team/")
    assert team.status_code == 200
    assert_sound_html(team.content.decode())
    bad = client.post("/sender/team/", {"national_number": "12345678901", "role": "sender"})
    assert bad.status_code == 200 and "not a valid national register number" in bad.content.decode()

    colleague = CitizenFactory()
    response = client.post("/sender/team/", {"national_number": colleague.national_number, "role": "statistics"})
    assert response.status_code == 302
    granted = SenderRole.objects.get(person=colleague, organisation=organisation, revoked_at__isnull=True)
    assert granted.role == "statistics" and granted.granted_by.startswith("citizen:")
    entry = AuditEntry.objects.filter(url="sender-portal:grant_role").latest("id")
    assert f"org:{organisation.enterprise_number}" in entry.actor and "roles:administrator" in entry.actor
    assert colleague.national_number not in entry.actor + " ".join(entry.ids)

    # The colleague, statistics only: no team page.
    client.logout()
    log_in(client, colleague)
    assert client.get("/sender/").status_code == 200
    assert client.get("/sender/team/").status_code == 403

    # Revoked: refused on the very next request.
    client.logout()
    log_in(client, person)
    assert client.post(f"/sender/team/{granted.pk}/revoke/").status_code == 302
    client.logout()
    log_in(client, colleague)
    assert client.get("/sender/").status_code == 403


def test_the_last_administrator_cannot_remove_themself(client, organisation, administrator):
    own = SenderRole.objects.get(person=administrator, organisation=organisation)
    client.post(f"/sender/team/{own.pk}/revoke/")
    own.refresh_from_db()
    assert own.revoked_at is None


def test_a_person_working_for_two_organisations_switches(client, organisation, administrator):
    other = OrganisationFactory()
    services.grant_role(other, administrator.national_number, SenderRole.Role.SENDER)
    first = client.get("/sender/").content.decode()
    assert 'id="organisation-select"' in first
    assert client.post("/sender/organisation/", {"organisation": other.pk}).status_code == 302
    assert other.name() in client.get("/sender/").content.decode()
    assert client.get("/sender/team/").status_code == 403  # only a sender there
    stranger = OrganisationFactory()
    assert client.post("/sender/organisation/", {"organisation": stranger.pk}).status_code == 403


def letter_form(message_type, recipient: str, **extra) -> dict:
    data = {
        "message_type": message_type.message_type_id,
        "recipient": recipient,
        "subject_fr": "Votre avertissement-extrait de rôle",
        "body_fr": "Madame, veuillez trouver ci-joint votre avertissement.",
        "subject_nl": "Uw aanslagbiljet",
    }
    data.update(extra)
    return data


def pdf_upload(name: str = "avertissement.pdf"):
    file = io.BytesIO(simple_pdf("Avertissement", ["Montant: 120,00 EUR"]))
    file.name = name
    return file


def test_send_one_letter_preview_then_send_through_the_publication_service(client, organisation, administrator):
    message_type = MessageTypeFactory(organisation=organisation)
    marie = CitizenFactory(activated=True)
    # The recipient check the form's script calls: valid numbers give the channel, others an error.
    check = client.get("/sender/send/recipient/", {"number": marie.national_number}).json()
    assert check["valid"] and check["channel"] == "digital"
    assert client.get("/sender/send/recipient/", {"number": "12345678901"}).json()["valid"] is False
    paper = client.get("/sender/send/recipient/", {"number": "78110345605"}).json()
    assert paper["channel"] == "paper"

    form = client.get("/sender/send/")
    assert form.status_code == 200
    assert_sound_html(form.content.decode())
    # Server-side checks give form errors, nothing is stored.
    bad = client.post("/sender/send/", letter_form(message_type, "123", subject_fr="", subject_nl=""))
    assert bad.status_code == 200
    assert "national register or BIS number" in bad.content.decode() and "at least one language" in bad.content.decode()
    bad_iban = client.post(
        "/sender/send/",
        letter_form(
            message_type, marie.national_number, amount="120.00", iban="BE00 0000 0000 0000", due_date="2027-01-31"
        ),
    )
    assert "paymentData.iban" in bad_iban.content.decode()  # the API's own validation, shown on the field
    assert not Message.objects.filter(sender_organisation=organisation).exists()

    response = client.post(
        "/sender/send/",
        letter_form(
            message_type,
            marie.national_number,
            documents=[pdf_upload()],
            amount="120.00",
            iban="BE71 0961 2345 6769",
            reference="+++090/9337/55493+++",
            due_date="2027-01-31",
            reply_authorized="on",
        ),
    )
    assert response.status_code == 302 and response["Location"] == "/sender/send/preview/"
    preview = client.get("/sender/send/preview/").content.decode()
    assert_sound_html(preview)
    assert "Votre avertissement-extrait de rôle" in preview and "avertissement.pdf" in preview
    assert "data:image/svg+xml" in preview  # the citizen's SEPA QR code
    assert "Digital" in preview
    assert "It is written in 2 languages" in preview  # French and Dutch (not the 4 of the language switcher)
    assert not Message.objects.filter(sender_organisation=organisation).exists()

    sent = client.post("/sender/send/confirm/", {"action": "send"})
    assert sent.status_code == 302
    message = Message.objects.get(sender_organisation=organisation)
    assert sent["Location"] == f"/sender/letters/{message.pk}/"
    assert message.citizen_id == marie.pk and message.reply_authorized and message.channel == "digital"
    assert message.sender_application.application_id == f"portal-{organisation.enterprise_number}"
    entry = AuditEntry.objects.filter(url="sender-portal:send_letter").latest("id")
    assert str(message.pk) in entry.ids and "roles:administrator" in entry.actor
    # A second click on the same draft sends nothing more.
    assert client.post("/sender/send/confirm/", {"action": "send"}).status_code == 302
    assert Message.objects.filter(sender_organisation=organisation).count() == 1

    sealing.seal_messages([message.id])
    message.refresh_from_db()
    text = reading.verified_text(message, reader=marie)
    assert text.subject == {"fr": "Votre avertissement-extrait de rôle", "nl": "Uw aanslagbiljet"}
    assert text.payment_data["iban"] == "BE71 0961 2345 6769"
    assert message.content.attachments.get().main_content

    # Follow: the list, the timeline, the evidence, the chart's table.
    letters = client.get("/sender/letters/").content.decode()
    assert_sound_html(letters)
    assert str(message.pk) in letters and "<svg" in letters
    detail = client.get(f"/sender/letters/{message.pk}/").content.decode()
    assert_sound_html(detail)
    assert "accepted" in detail and "sealed" in detail
    assert "Letter of type Courrier" in detail  # the type's name, not its identifier
    assert "Votre avertissement-extrait de rôle" in detail  # the subject, once sealed and verified
    evidence = client.get(f"/sender/letters/{message.pk}/evidence.json")
    assert evidence.status_code == 200 and b"seal" in evidence.content
    filtered = client.get("/sender/letters/", {"status": "expired"}).content.decode()
    assert str(message.pk) not in filtered


def test_a_statistics_only_role_cannot_send(client, organisation):
    person = CitizenFactory()
    services.grant_role(organisation, person.national_number, SenderRole.Role.STATISTICS)
    log_in(client, person)
    home = client.get("/sender/").content.decode()
    assert "/sender/send/" not in home
    assert client.get("/sender/letters/").status_code == 200
    for url in (
        "/sender/send/",
        "/sender/send/preview/",
        "/sender/send/confirm/",
        "/sender/replies/",
        "/sender/api-access/",
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url).status_code == 403, url


def test_a_reply_is_assigned_handled_and_answered_in_the_thread(client, organisation, administrator, publish):
    citizen = CitizenFactory(activated=True)
    application = SenderApplication.objects.create(
        organisation=organisation, application_id="app-replies", name={"fr": "x"}
    )
    message_type = MessageTypeFactory(organisation=organisation)
    original = publish(
        citizen.national_number, sender_application=application, message_type=message_type, reply_authorized=True
    )
    reply = replies.reply_to_message(original, citizen, "Voici mon extrait de compte.")

    inbox = client.get("/sender/replies/").content.decode()
    assert_sound_html(inbox)
    assert f"/sender/replies/{reply.pk}/" in inbox
    assert 'data-label="In reply to">Courrier</td>' in inbox  # the type's name (fr: no English one), labelled
    page = client.get(f"/sender/replies/{reply.pk}/").content.decode()
    assert_sound_html(page)
    assert "Voici mon extrait de compte." in page and "Letter of type Courrier" in page
    read = AuditEntry.objects.filter(url="sender-portal:read_reply").latest("id")
    assert str(reply.pk) in read.ids and "roles:administrator" in read.actor
    client.post(f"/sender/replies/{reply.pk}/update/", {"assign": administrator.pk})
    assert ReplyHandling.objects.get(reply=reply).assigned_to == administrator
    assert f"/sender/replies/{reply.pk}/" in client.get("/sender/replies/?show=mine").content.decode()

    form = client.get(f"/sender/send/?reply={reply.pk}").content.decode()
    assert citizen.national_number in form
    response = client.post(
        "/sender/send/",
        letter_form(message_type, citizen.national_number, reply=str(reply.pk)),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post("/sender/send/confirm/", {"action": "send"})
    answer = Message.objects.exclude(pk=original.pk).get(sender_organisation=organisation)
    assert answer.original_message_id == original.pk and answer.citizen_id == citizen.pk
    handling = ReplyHandling.objects.get(reply=reply)
    assert handling.answer_id == answer.pk and handling.handled_at is not None
    assert f"/sender/replies/{reply.pk}/" not in client.get("/sender/replies/").content.decode()


def test_credentials_rotated_in_the_portal_work_and_the_old_ones_stop_at_once(
    client, organisation, administrator, live_server
):
    created = client.post("/sender/api-access/", {"name": "Mon service en ligne"})
    assert created.status_code == 200
    page = created.content.decode()
    assert_sound_html(page)
    client_id = re.search(r'id="client-id">([^<]+)<', page).group(1)
    first_secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    application = SenderApplication.objects.get(organisation=organisation, oauth_application__client_id=client_id)
    assert application.oauth_application.client_secret != first_secret  # stored hashed

    old = token_session(live_server.url, client_id, first_secret)
    assert old.get(f"{live_server.url}/api/v2/referenceData/messageTypes").status_code == 200
    listing = client.get("/sender/api-access/").content.decode()
    assert client_id in listing and "never" not in listing.split(client_id)[1].split("</tr>")[0]

    rotated = client.post(f"/sender/api-access/{application.pk}/rotate/").content.decode()
    new_secret = re.search(r'id="client-secret">([^<]+)<', rotated).group(1)
    assert new_secret != first_secret
    # The old token and the old secret stop at once; the new secret works.
    assert old.get(f"{live_server.url}/api/v2/referenceData/messageTypes").status_code == 401
    refused = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client_id, first_secret),
        timeout=10,
    )
    assert refused.status_code == 401
    new = token_session(live_server.url, client_id, new_secret)
    assert new.get(f"{live_server.url}/api/v2/referenceData/messageTypes").status_code == 200

    client.post(f"/sender/api-access/{application.pk}/revoke/")
    assert new.get(f"{live_server.url}/api/v2/referenceData/messageTypes").status_code == 401
    assert AuditEntry.objects.filter(
        url="sender-portal:revoke_application", ids__contains=[application.application_id]
    ).exists()


def test_reading_a_reply_and_abandoned_drafts(client, organisation, administrator, settings):
    message_type = MessageTypeFactory(organisation=organisation)
    marie = CitizenFactory(activated=True)
    client.post("/sender/send/", letter_form(message_type, marie.national_number, documents=[pdf_upload()]))
    assert sending.sweep_drafts() == 0  # a fresh draft stays
    assert sending.sweep_drafts(older_than=dt.timedelta(seconds=-60)) == 1
    response = client.post("/sender/send/confirm/", {"action": "send"}, follow=True)
    assert "This draft has expired" in response.content.decode()
    assert not Message.objects.filter(sender_organisation=organisation).exists()


def test_sent_letters_filter_by_campaign(client, organisation, administrator, publish):
    application = SenderApplication.objects.create(organisation=organisation, application_id="app-c", name={"fr": "c"})
    message_type = MessageTypeFactory(organisation=organisation)
    citizen = CitizenFactory(activated=True)
    in_campaign = publish(citizen.national_number, sender_application=application, message_type=message_type)
    alone = publish(citizen.national_number, sender_application=application, message_type=message_type)
    campaign = Campaign.objects.create(
        organisation=organisation,
        sender_application=application,
        message_type=message_type,
        name="Avertissements 2026",
        spreadsheet_name="rows.csv",
        spreadsheet_format="csv",
        kek_id="x",
        wrapped_key=b"x",
        spreadsheet_blob="x",
    )
    CampaignRow.objects.create(
        campaign=campaign, number=2, recipient_id=citizen.national_number, message_id=in_campaign.pk
    )
    everything = client.get("/sender/letters/").content.decode()
    assert "Avertissements 2026" in everything and str(alone.pk) in everything
    page = client.get("/sender/letters/", {"campaign": str(campaign.pk)}).content.decode()
    assert_sound_html(page)
    assert str(in_campaign.pk) in page and str(alone.pk) not in page
