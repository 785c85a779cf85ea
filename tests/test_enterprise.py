"""Enterprise mailboxes: publication to an enterprise number, preferences that look, and the director
reading the company's letters in the portal (switcher, access log, evidence), on the demo data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from citizens import services as citizen_services
from citizens.models import AccessLogEntry, Citizen
from demo.loader import load_demo
from mandates.models import Mandate
from messages.models import Message
from senders import services as sender_services
from senders.models import Organisation
from tests.publication_support import FEDERATION, assert_matches, message_json, multipart, token_session

BAKERY = "0990000806"  # demo enterprise, activated, director Marie
UNKNOWN_ENTERPRISE = "0990000905"  # valid, unknown to the platform
MARIE, ANNA = "85073003328", "78110345605"


@pytest.fixture
def demo(transactional_db):
    load_demo()
    return Citizen.objects.get(national_number=BAKERY)


def logged_in(national_number: str, given: str, family: str) -> Client:
    person = citizen_services.citizen_logged_in(national_number, given_name=given, family_name=family)
    client = Client()
    client.force_login(person.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read the English text
    return client


def test_the_demo_enterprise_owns_its_letters_in_an_enterprise_ebox(demo):
    assert (demo.kind, demo.name, demo.is_digital) == ("enterprise", "Boulangerie Dubois SRL", True)
    letters = Message.objects.filter(recipient_id=BAKERY)
    assert letters.count() == 2
    assert {(m.citizen_id, m.recipient_type, m.status) for m in letters} == {(demo.pk, "enterprise", "sealed")}
    assert "paper" not in {m.channel for m in letters}  # digital (with paper during a sender's transition)
    # The seal names the enterprise: its document's recipient is the enterprise number.
    from messages.services import reading

    _text, document = reading.verified_seal(letters.first(), reader=demo)
    assert document["recipient"] == {"eboxType": "enterprise", "eboxIdValue": BAKERY}


def test_marie_switches_to_the_bakery_reads_its_letter_and_the_log_names_her_as_director(demo):
    marie = logged_in(MARIE, "Marie", "Dubois")
    # Her own log before (the demo has her reply to the CPAS in it).
    own_log = set(AccessLogEntry.objects.filter(citizen__national_number=MARIE).values_list("id", flat=True))
    inbox = marie.get("/inbox/").content.decode()
    # The switcher lists her own eBox, the bakery's and her daughter's.
    assert 'id="mailbox-select"' in inbox
    for name in ("Marie Dubois", "Boulangerie Dubois SRL", "Léa Dubois"):
        assert f">{name}</option>" in inbox
    assert "Corporate income tax" not in inbox  # her own inbox first

    response = marie.post("/mailbox/", {"mailbox": demo.pk})
    assert response.status_code == 302
    demo.refresh_from_db()
    assert demo.last_connection_at is not None  # eboxPreferences' lastConnectionDate for the enterprise
    inbox = marie.get("/inbox/").content.decode()
    assert "Corporate income tax" in inbox and "Boulangerie Dubois SRL" in inbox
    letter = Message.objects.filter(recipient_id=BAKERY, message_type__message_type_id="tax-assessment").get()
    page = marie.get(f"/inbox/{letter.pk}/")
    assert page.status_code == 200 and "Corporate income tax" in page.content.decode()
    pdf = letter.content.attachments.get()
    download = marie.get(f"/inbox/{letter.pk}/attachments/{pdf.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    evidence = marie.get(f"/inbox/{letter.pk}/evidence.json")
    assert evidence.status_code == 200 and BAKERY in evidence.content.decode()

    director = Mandate.objects.get(owner=demo, role="director")
    log = list(AccessLogEntry.objects.filter(citizen=demo).order_by("at", "id"))
    assert [(e.action, e.accessor, e.mandate_id) for e in log] == [
        ("listed", "Marie Dubois", director.pk),
        ("opened", "Marie Dubois", director.pk),
        ("downloaded", "Marie Dubois", director.pk),
        ("evidence", "Marie Dubois", director.pk),
    ]
    # The owner's access-log page (the bakery's settings, Marie manages it) names her and her role.
    settings_page = marie.get("/settings/").content.decode()
    assert "Marie Dubois, director (official register)" in settings_page
    # The letter's "read" event names the mandate it was read under.
    assert letter.events.get(kind="read").actor == f"mandate:{director.pk}"
    # Her own eBox's log has none of it.
    assert set(AccessLogEntry.objects.filter(citizen__national_number=MARIE).values_list("id", flat=True)) == own_log


def test_anna_has_no_way_into_the_bakery(demo):
    anna = logged_in(ANNA, "Anna", "Schmitz")
    assert 'id="mailbox-select"' not in anna.get("/inbox/").content.decode()  # nothing to switch to
    refused = anna.post("/mailbox/", {"mailbox": demo.pk}, follow=True)
    assert "You have no access to that eBox." in refused.content.decode()
    letter = Message.objects.filter(recipient_id=BAKERY).first()
    assert anna.get(f"/inbox/{letter.pk}/").status_code == 404
    assert anna.get(f"/inbox/{letter.pk}/evidence.json").status_code == 404
    assert "Corporate income tax" not in anna.get("/inbox/").content.decode()
    assert not AccessLogEntry.objects.filter(citizen=demo).exists()


@pytest.mark.parametrize("ending", ["revoked", "expired"])
def test_an_ended_mandate_ends_access_on_the_next_request(demo, ending):
    marie = logged_in(MARIE, "Marie", "Dubois")
    marie.post("/mailbox/", {"mailbox": demo.pk})
    letter = Message.objects.filter(recipient_id=BAKERY).first()
    assert marie.get(f"/inbox/{letter.pk}/").status_code == 200
    director = Mandate.objects.get(owner=demo, role="director")
    if ending == "revoked":
        from mandates import services

        services.revoke(director, by=None)  # the register import, an operator
    else:
        from django.utils import timezone

        Mandate.objects.filter(pk=director.pk).update(valid_until=timezone.localdate())  # ends today
    # The same session, the next request: gone.
    assert marie.get(f"/inbox/{letter.pk}/").status_code == 404
    assert marie.get(f"/inbox/{letter.pk}/evidence.json").status_code == 404
    inbox = marie.get("/inbox/").content.decode()
    assert "Corporate income tax" not in inbox
    assert ">Boulangerie Dubois SRL</option>" not in inbox and ">Léa Dubois</option>" in inbox
    assert marie.post("/mailbox/", {"mailbox": demo.pk}, follow=True).redirect_chain[-1][0] == "/inbox/"
    assert "Corporate income tax" not in marie.get("/inbox/").content.decode()


def test_a_read_only_delegate_reads_but_cannot_manage(demo):
    from mandates import services

    marie = Citizen.objects.get(national_number=MARIE)
    services.grant(demo, "80051212368", role="delegate", scope="read", granted_by=marie)
    thomas = logged_in("80051212368", "Thomas", "Lambert")
    thomas.post("/mailbox/", {"mailbox": demo.pk})
    letter = Message.objects.filter(recipient_id=BAKERY).first()
    page = thomas.get(f"/inbox/{letter.pk}/")
    assert page.status_code == 200
    assert f"/inbox/{letter.pk}/visibility/" not in page.content.decode()  # no button he could not use
    assert thomas.post(f"/inbox/{letter.pk}/visibility/", {"visible": "0"}).status_code == 403
    assert thomas.post(f"/inbox/{letter.pk}/reply/", {"text": "Bonjour"}).status_code == 403
    assert thomas.post(f"/inbox/{letter.pk}/acknowledgement/", {"decision": "acknowledged"}).status_code == 403
    assert thomas.get("/settings/").status_code == 403
    letter.refresh_from_db()
    assert letter.hidden_at is None
    entry = AccessLogEntry.objects.get(citizen=demo, action="opened")
    assert (entry.accessor, entry.mandate.role) == ("Thomas Lambert", "delegate")


# --- Publication and preferences -----------------------------------------------------------


@pytest.fixture
def integrator(demo, live_server):
    organisation = Organisation.objects.get(enterprise_number="0308357159")  # FPS Finance, from the demo
    issued = sender_services.create_sender_application(organisation, "accounting-test")
    return token_session(live_server.url, issued.client_id, issued.client_secret), live_server.url


def test_preferences_look_at_the_enterprise_ebox(integrator):
    session, url = integrator
    response = session.post(
        f"{url}/api/v2/eboxPreferences/search",
        json={"eboxType": "ENTERPRISE", "eboxIdValueList": [BAKERY, UNKNOWN_ENTERPRISE]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_matches(body, "EboxPreferencesList", FEDERATION)
    assert [p["eboxId"] for p in body] == [
        {"eboxType": "ENTERPRISE", "eboxIdValue": BAKERY},
        {"eboxType": "ENTERPRISE", "eboxIdValue": UNKNOWN_ENTERPRISE},
    ]
    assert [(p["exclusivelyEbox"], p["channel"]) for p in body] == [(True, "digital"), (False, "paper")]


def test_publication_to_enterprises_creates_their_ebox_of_the_right_kind(integrator):
    session, url = integrator

    def publish(number: str):
        data = message_json(bodyContent={"fr": "Bonjour"}, bodyMainContent=True, attachments=[])
        data["messageTypeId"] = "tax-assessment"
        data["recipient"] = {"eboxType": "enterprise", "eboxIdValue": number}
        return session.post(f"{url}/api/v2/publishMessage", files=multipart(data))

    digital, paper = publish(BAKERY), publish(UNKNOWN_ENTERPRISE)
    assert (digital.status_code, digital.json()["code"]) == (201, "digital")
    assert (paper.status_code, paper.json()["code"]) == (201, "paper")
    unknown = Citizen.objects.get(national_number=UNKNOWN_ENTERPRISE)
    assert (unknown.kind, unknown.is_activated) == ("enterprise", False)
    assert Message.objects.get(id=paper.json()["messageId"]).citizen == unknown


def test_a_link_to_a_letter_of_a_mandated_ebox_opens_that_ebox(demo):
    marie = logged_in(MARIE, "Marie", "Dubois")
    letter = Message.objects.filter(recipient_id=BAKERY).first()
    response = marie.get(f"/inbox/{letter.pk}/")  # from her own eBox, as from a notification e-mail
    assert (response.status_code, response["Location"]) == (302, f"/inbox/{letter.pk}/")
    assert marie.get(f"/inbox/{letter.pk}/").status_code == 200
    assert "You are in the eBox of Boulangerie Dubois SRL" in marie.get("/inbox/").content.decode()


def test_a_director_activates_the_enterprise_ebox_with_a_verified_address(transactional_db):
    from citizens.selectors import reads_digitally
    from mandates import services

    mandate, _ = services.register_mandate(
        UNKNOWN_ENTERPRISE,
        MARIE,
        role="director",
        scope="read_and_manage",
        valid_from=dt.date(2020, 1, 1),
        valid_until=None,
        owner_name="Nouvelle SRL",
    )
    enterprise = mandate.owner
    marie = logged_in(MARIE, "Marie", "Dubois")
    marie.post("/mailbox/", {"mailbox": enterprise.pk})
    response = marie.post("/activate/", {"consent": "on", "email": "info@nouvelle.example.be", "language": "nl"})
    assert response.status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.is_activated and not reads_digitally(enterprise)  # paper until the address is confirmed
    assert enterprise.activation_history.get().actor == f"mandate:{mandate.pk}"
    marie_own = Citizen.objects.get(national_number=MARIE)
    assert not marie_own.is_activated or marie_own.email != "info@nouvelle.example.be"
    token = citizen_services.email_verification_token(enterprise, "info@nouvelle.example.be")
    assert marie.post(f"/verify-email/{token}/").status_code == 302
    enterprise.refresh_from_db()
    assert reads_digitally(enterprise)


def test_a_new_letter_owes_the_enterprise_a_notification_email(demo):
    import io

    from ebox.pdf import simple_pdf
    from messages.models import EmailNotification
    from messages.services import publishing, sealing
    from senders.models import MessageType, SenderApplication

    new = publishing.NewMessage(
        sender_application=SenderApplication.objects.get(application_id="myminfin"),
        message_type=MessageType.objects.get(message_type_id="tax-assessment"),
        recipient_type="enterprise",
        recipient_id=BAKERY,
        subject={"fr": "Rappel TVA"},
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(simple_pdf("TVA", ["Rappel"])),
                file_name="tva.pdf",
                media_type="application/pdf",
                main_content=True,
            )
        ],
    )
    message = publishing.publish_message(new)
    sealing.seal_messages([message.id])
    owed = EmailNotification.objects.get(citizen=demo)
    assert (owed.kind, owed.message_count) == ("new_mail", 1)
