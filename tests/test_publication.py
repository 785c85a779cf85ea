"""The publication API as an integrator uses it: a token over HTTP, then publishMessage and friends.

Live server, real OAuth client (authlib), every body checked against the eBox contract's definitions.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken

from citizens.models import Citizen
from messages.models import Attachment, Message, MessageContent
from senders import services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import (
    FEDERATION,
    assert_matches,
    assert_status_message,
    b64url_sha256,
    message_json,
    multipart,
    token_session,
)

CITIZEN = "85073003328"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _make_integrator(base_url: str, enterprise_number: str, app_id: str, type_id: str, **org):
    organisation = services.create_organisation(enterprise_number, {"fr": f"Org {app_id}"}, **org)
    message_type = MessageTypeFactory(organisation=organisation, message_type_id=type_id)
    issued = services.create_sender_application(organisation, app_id)
    return SimpleNamespace(
        organisation=organisation,
        message_type=message_type,
        application=issued.sender_application,
        issued=issued,
        session=token_session(base_url, issued.client_id, issued.client_secret),
        url=base_url,
    )


@pytest.fixture
def integrator(transactional_db, live_server):
    return _make_integrator(live_server.url, "0308357159", "myminfin", "tax")


@pytest.fixture
def other_integrator(integrator):
    return _make_integrator(integrator.url, "0206731645", "other-app", "other-type")


@pytest.fixture
def activated_citizen(transactional_db):
    return CitizenFactory(national_number=CITIZEN, activated=True)


def publish(it, data: dict, files: dict | None = None, headers: dict | None = None, as_file: bool = False):
    data.setdefault("messageTypeId", it.message_type.message_type_id)
    if not data["messageTypeId"]:
        data["messageTypeId"] = it.message_type.message_type_id
    return it.session.post(f"{it.url}/api/v2/publishMessage", files=multipart(data, files, as_file), headers=headers)


def pdf_part(pdf: bytes, name: str = "letter.pdf", content_type: str = "application/pdf"):
    return (name, io.BytesIO(pdf), content_type)


# --- The happy path -------------------------------------------------------------------


def test_an_integrator_gets_a_token_and_publishes_a_pdf(integrator, activated_citizen, pdf_bytes):
    data = message_json(
        attachments=[
            {
                "httpPartName": "upfile1",
                "mainContent": True,
                "attachmentTitle": {"fr": "Avertissement"},
                "digest": {"digestMethod": "sha_256", "digestValue": b64url_sha256(pdf_bytes)},
            }
        ]
    )
    response = publish(integrator, data, {"upfile1": pdf_part(pdf_bytes)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert_matches(body, "PublicationStatusMessage")
    assert body["code"] == "digital"
    message = Message.objects.get(id=body["messageId"])
    assert message.status == Message.Status.ACCEPTED
    assert message.sender_application == integrator.application
    assert message.citizen == activated_citizen
    attachment = Attachment.objects.get(content=message.content)
    assert (attachment.media_type, attachment.size, attachment.main_content) == (
        "application/pdf",
        len(pdf_bytes),
        True,
    )
    # Expiration: the message type's validity period (one year in the factory).
    assert abs((message.expires_at - message.received_at) - dt.timedelta(days=365)) < dt.timedelta(days=2)


def test_the_code_carries_the_channel_decision(integrator, activated_citizen, transactional_db):
    not_activated = CitizenFactory(national_number="78110345605")
    body_only = {"bodyContent": {"fr": "Bonjour"}, "bodyMainContent": True, "attachments": []}
    paper = publish(integrator, message_json(not_activated.national_number, **body_only))
    assert (paper.status_code, paper.json()["code"]) == (201, "paper")
    # A number never seen before is a citizen who has not activated: paper, and the message is kept for them.
    unknown = publish(integrator, message_json("92041512329", **body_only))
    assert unknown.json()["code"] == "paper"
    integrator.organisation.paper_transition_until = dt.date.today() + dt.timedelta(days=10)
    integrator.organisation.save()
    both = publish(integrator, message_json(CITIZEN, **body_only))
    assert both.json()["code"] == "digital_and_paper"
    assert Message.objects.get(id=both.json()["messageId"]).channel == "digital_and_paper"


def test_parts_in_any_order_and_json_as_a_file_part(integrator, activated_citizen, pdf_bytes):
    data = message_json(
        messageTypeId=integrator.message_type.message_type_id,
        attachments=[
            {"httpPartName": "upfile2", "mainContent": False},
            {"httpPartName": "upfile1", "mainContent": True},
        ],
    )
    parts = [
        ("upfile2", ("annex.png", io.BytesIO(PNG), "image/png")),
        ("messageToPublish", ("message.json", json.dumps(data), "application/json")),
        ("upfile1", ("letter.pdf", io.BytesIO(pdf_bytes), "application/octet-stream")),
    ]
    response = integrator.session.post(f"{integrator.url}/api/v2/publishMessage", files=parts)
    assert response.status_code == 201, response.text
    message = Message.objects.get(id=response.json()["messageId"])
    types = [(a.media_type, a.main_content) for a in Attachment.objects.filter(content=message.content)]
    assert types == [("image/png", False), ("application/pdf", True)]


def test_a_body_alone_is_a_message(integrator, activated_citizen):
    data = message_json(bodyContent={"nl": "Beste"}, bodyMainContent=True, attachments=[])
    response = publish(integrator, data)
    assert response.status_code == 201, response.text


# --- Validation: every path gives a 400 StatusMessage naming the field, and stores nothing ---------

BAD_MESSAGES = {
    "recipient missing": ({"recipient": None}, "recipient"),
    "bad national number": (
        {"recipient": {"eboxType": "citizen", "eboxIdValue": "85073003329"}},
        "recipient.eboxIdValue",
    ),
    "bad enterprise number": (
        {"recipient": {"eboxType": "enterprise", "eboxIdValue": "0308357158"}},
        "recipient.eboxIdValue",
    ),
    "bad recipient type": ({"recipient": {"eboxType": "cat", "eboxIdValue": CITIZEN}}, "recipient.eboxType"),
    "no subject": ({"subject": {}}, "subject"),
    "subject in klingon": ({"subject": {"tlh": "Qapla"}}, "subject"),
    "subject not a string": ({"subject": {"fr": 3}}, "subject.fr"),
    "unknown message type": ({"messageTypeId": "nope"}, "messageTypeId"),
    "another org's sender id": ({"senderOrganizationId": "0206731645"}, "senderOrganizationId"),
    "another app's id": ({"senderApplicationId": "someone-else"}, "senderApplicationId"),
    "two main contents": (
        {"bodyContent": {"fr": "x"}, "bodyMainContent": True},
        "mainContent",
    ),
    "no main content": ({"attachments": [{"httpPartName": "upfile1", "mainContent": False}]}, "mainContent"),
    "body main without body": ({"bodyMainContent": True, "attachments": []}, "bodyMainContent"),
    "part not received": (
        {"attachments": [{"httpPartName": "upfile4", "mainContent": True}]},
        "attachments[0].httpPartName",
    ),
    "mainContent missing": ({"attachments": [{"httpPartName": "upfile1"}]}, "attachments[0].mainContent"),
    "bad digest method": (
        {
            "attachments": [
                {"httpPartName": "upfile1", "mainContent": True, "digest": {"digestMethod": "md5", "digestValue": "x"}}
            ]
        },
        "attachments[0].digest",
    ),
    "digest mismatch": (
        {
            "attachments": [
                {
                    "httpPartName": "upfile1",
                    "mainContent": True,
                    "digest": {"digestMethod": "sha_256", "digestValue": b64url_sha256(b"other bytes")},
                }
            ]
        },
        "attachments[0].digest.digestValue",
    ),
    "expiration in the past": ({"expirationDate": "2001-01-01T00:00:00Z"}, "expirationDate"),
    "expiration not a date": ({"expirationDate": "tomorrow"}, "expirationDate"),
    "boolean as string": ({"registeredMail": "yes"}, "registeredMail"),
    "bad IBAN": (
        {
            "paymentData": {
                "paymentDataId": "p1",
                "amount": 10,
                "vatAmount": 0,
                "currency": "EUR",
                "dueDate": "2030-01-01",
                "iban": "BE00 0000 0000 0000",
            }
        },
        "paymentData.iban",
    ),
    "payment data incomplete": ({"paymentData": {"amount": 10}}, "paymentData.iban"),
    "unknown original message": ({"originalMessageId": "6f1c7a3e-1b2c-4d5e-8f90-123456789abc"}, "originalMessageId"),
    "business data without key": ({"businessDataList": [{"values": []}]}, "businessDataList[0].key"),
}


@pytest.mark.parametrize("case", list(BAD_MESSAGES), ids=list(BAD_MESSAGES))
def test_each_validation_path_names_the_faulty_field(integrator, pdf_bytes, case):
    overrides, ref = BAD_MESSAGES[case]
    data = message_json(**overrides)
    response = publish(integrator, data, {"upfile1": pdf_part(pdf_bytes)})
    assert_status_message(response, 400, ref)
    assert Message.objects.count() == MessageContent.objects.count() == 0


BAD_FILES = {
    "declared type disagrees with the bytes": (("letter.pdf", "image/png"), None, "upfile1"),
    "extension disagrees with the bytes": (("letter.png", "application/pdf"), None, "upfile1"),
    "bytes of no accepted type": (("letter.pdf", "application/pdf"), b"MZ\x90\x00 not a pdf", "upfile1"),
    "empty file": (("letter.pdf", "application/pdf"), b"", "upfile1"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_the_type_comes_from_the_bytes(integrator, pdf_bytes, case):
    (name, content_type), content, ref = BAD_FILES[case]
    response = publish(
        integrator,
        message_json(),
        {"upfile1": (name, io.BytesIO(content if content is not None else pdf_bytes), content_type)},
    )
    assert_status_message(response, 400, ref)
    assert Message.objects.count() == 0


def test_parts_nobody_refers_to_are_refused(integrator, pdf_bytes):
    files = {"upfile1": pdf_part(pdf_bytes), "upfile2": pdf_part(pdf_bytes), "upfile9": pdf_part(pdf_bytes)}
    assert_status_message(publish(integrator, message_json(), files), 400, "upfile2", "upfile9")


def test_too_large_documents_get_413(integrator, pdf_bytes, settings):
    settings.EBOX_MAX_ATTACHMENT_BYTES = 300 * 1024  # above the 256 kB memory threshold: the part is spooled
    big = pdf_bytes + b"%" + b"0" * (400 * 1024)
    body = assert_status_message(publish(integrator, message_json(), {"upfile1": pdf_part(big)}), 413, "upfile1")
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    # Just under the limit, spooled to a temporary file, is fine.
    ok = pdf_bytes + b"%" + b"0" * (290 * 1024)
    assert publish(integrator, message_json(), {"upfile1": pdf_part(ok)}).status_code == 201
    assert Message.objects.count() == 1


def test_malformed_multipart_bodies_are_named_in_the_error(integrator, pdf_bytes):
    url, session = f"{integrator.url}/api/v2/publishMessage", integrator.session
    message = json.dumps(message_json(message_type=integrator.message_type.message_type_id))
    twice = session.post(url, files=[("messageToPublish", (None, message)), ("messageToPublish", (None, message))])
    assert "sent twice" in assert_status_message(twice, 400, "messageToPublish")["message"]
    truncated = session.post(
        url,
        data=b'--x\r\nContent-Disposition: form-data; name="messageToPublish"\r\n\r\n{}',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert "not a valid multipart/form-data body" in assert_status_message(truncated, 400, "body")["message"]
    no_boundary = session.post(url, data=b"--x--", headers={"Content-Type": "multipart/form-data"})
    assert_status_message(no_boundary, 400, "Content-Type")
    too_many = session.post(url, files=[(f"f{i}", (None, "1")) for i in range(20)])
    assert_status_message(too_many, 413, "body")
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "make_request",
    [
        lambda s, u: s.post(
            f"{u}/api/v2/publishMessage", data=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=x"}
        ),
        lambda s, u: s.post(
            f"{u}/api/v2/publishMessage", data=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}
        ),
        lambda s, u: s.post(f"{u}/api/v2/publishMessage", json={"recipient": "x"}),
        lambda s, u: s.post(f"{u}/api/v2/publishMessage", files=[("messageToPublish", (None, "{not json"))]),
        lambda s, u: s.post(f"{u}/api/v2/publishMessage", files=[("messageToPublish", (None, "[1, 2]"))]),
        lambda s, u: s.post(
            f"{u}/api/v2/publishMessage", files=[("upfile1", ("a.pdf", b"%PDF-1.4", "application/pdf"))]
        ),
        lambda s, u: s.post(f"{u}/api/v2/searchMessageStatus", data=b"{", headers={"Content-Type": "application/json"}),
        lambda s, u: s.post(f"{u}/api/v2/searchMessageStatus", json={"a": 1}),
        lambda s, u: s.post(f"{u}/api/v2/searchMessageStatus", json=[{"messageId": "not-a-uuid"}]),
        lambda s, u: s.post(f"{u}/api/v2/linkEboxMessage", json={"messageId": "x", "recipients": "y"}),
        lambda s, u: s.post(f"{u}/api/v2/eboxPreferences/search", json={"eboxType": "CITIZEN", "eboxIdValueList": [1]}),
        lambda s, u: s.post(f"{u}/api/v2/extensions/publishMessages", json={"messages": [1, {"messageToPublish": []}]}),
        lambda s, u: s.post(f"{u}/api/v2/extensions/publishMessages", json=[]),
        lambda s, u: s.get(f"{u}/api/v2/referenceData/messageTypes?page=abc&pageSize=1000"),
        lambda s, u: s.delete(f"{u}/api/v2/publishMessage"),
        lambda s, u: s.post(f"{u}/api/v2/publishMessage", files=[("messageToPublish", (None, "x" * (11 << 20)))]),
        lambda s, u: s.post(f"{u}/api/v2/publishMessage", files=[(f"f{i}", (None, "1")) for i in range(1100)]),
        lambda s, u: s.post(f"{u}/api/v2/searchMessageStatus", data=b"[" + b" " * (11 << 20) + b"]"),
    ],
)
def test_no_input_gives_a_5xx(integrator, make_request):
    response = make_request(integrator.session, integrator.url)
    assert response.status_code < 500, response.text
    if response.status_code == 200:  # the batch extension reports per item
        assert {item["status"] for item in response.json()["items"]} == {400}
    else:
        assert_matches(response.json(), "StatusMessage")


# --- Idempotency ---------------------------------------------------------------------------


def test_a_reused_idempotency_key_gets_409_naming_the_first_message(integrator, activated_citizen, pdf_bytes):
    headers = {"Idempotency-Key": "letter-2027-000001"}
    first = publish(integrator, message_json(), {"upfile1": pdf_part(pdf_bytes)}, headers)
    assert first.status_code == 201
    second = publish(integrator, message_json(), {"upfile1": pdf_part(pdf_bytes)}, headers)
    body = assert_status_message(second, 409, "Idempotency-Key")
    assert first.json()["messageId"] in body["message"]
    assert Message.objects.count() == MessageContent.objects.count() == Attachment.objects.count() == 1


def test_two_duplicates_at_the_same_moment_store_one_message(integrator, activated_citizen, pdf_bytes):
    barrier = threading.Barrier(2)
    results = []

    def send():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {integrator.session.token['access_token']}"
        data = message_json(messageTypeId=integrator.message_type.message_type_id)
        barrier.wait()
        results.append(
            session.post(
                f"{integrator.url}/api/v2/publishMessage",
                files=multipart(data, {"upfile1": pdf_part(pdf_bytes)}),
                headers={"Idempotency-Key": "same-moment"},
            )
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 409]
    assert Message.objects.filter(idempotency_key="same-moment").count() == 1
    assert MessageContent.objects.count() == Attachment.objects.count() == 1


def test_concurrent_publications_keep_one_audit_chain(integrator, activated_citizen):
    # Each publication appends its audit entry in its own one-round-trip transaction, under the
    # chain lock: entries written at the same moment must still form one line (no shared parent).
    from audit import services as audit
    from audit.models import AuditEntry

    barrier = threading.Barrier(4)
    statuses = []

    def send():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {integrator.session.token['access_token']}"
        data = message_json(bodyContent={"fr": "x"}, bodyMainContent=True, attachments=[])
        data["messageTypeId"] = integrator.message_type.message_type_id
        barrier.wait()
        for _ in range(10):
            statuses.append(session.post(f"{integrator.url}/api/v2/publishMessage", files=multipart(data)).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 40
    published = {str(i) for i in Message.objects.values_list("id", flat=True)}
    recorded = {
        i for ids in AuditEntry.objects.filter(url="/api/v2/publishMessage").values_list("ids", flat=True) for i in ids
    }
    assert recorded == published and len(published) == 40
    parents = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(parents) == len(set(parents))
    report = audit.verify()
    assert report.ok, report.problems


def test_keys_are_per_sender_application(integrator, other_integrator, activated_citizen):
    data = {"bodyContent": {"fr": "x"}, "bodyMainContent": True, "attachments": []}
    assert publish(integrator, message_json(**data), headers={"Idempotency-Key": "k"}).status_code == 201
    assert publish(other_integrator, message_json(**data), headers={"Idempotency-Key": "k"}).status_code == 201


# --- OAuth: tokens, scopes, revocation ----------------------------------------------------


def test_unknown_api_urls_answer_with_a_status_message(live_server):
    body = assert_status_message(requests.post(f"{live_server.url}/api/v2/publishMessagez"), 404)
    assert body["code"] == "NOT_FOUND" and "/api/v2/publishMessagez" in body["message"]
    page = requests.get(f"{live_server.url}/no-such-page")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")


def test_authentication_errors_say_what_is_wrong(integrator, live_server):
    url = f"{live_server.url}/api/v2/referenceData/messageTypes"
    body = assert_status_message(requests.get(url), 401)
    assert "no access token" in body["message"]
    bad = requests.get(url, headers={"Authorization": "Bearer nope"})
    assert assert_status_message(bad, 401)["message"] == "token unknown or revoked"
    assert "invalid_token" in bad.headers["WWW-Authenticate"]
    # publishMessage reads a small body before checking the token (to fetch both at once), yet
    # the token decides first: no token or a bad one is a 401, whatever the body, and stores nothing.
    publish_url = f"{live_server.url}/api/v2/publishMessage"
    broken = b"--x\r\nbroken"
    garbage = requests.post(publish_url, data=broken, headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert "no access token" in assert_status_message(garbage, 401)["message"]
    wrong = requests.post(publish_url, files=multipart(message_json()), headers={"Authorization": "Bearer nope"})
    assert assert_status_message(wrong, 401)["message"] == "token unknown or revoked"
    assert Message.objects.count() == 0
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert assert_status_message(integrator.session.get(url), 401)["message"] == "token expired"


def test_a_missing_scope_is_named(integrator):
    session = token_session(
        integrator.url, integrator.issued.client_id, integrator.issued.client_secret, "referencedata"
    )
    response = session.post(f"{integrator.url}/api/v2/publishMessage", files=multipart(message_json()))
    assert assert_status_message(response, 403)["message"] == "scope publication missing"
    assert session.get(f"{integrator.url}/api/v2/referenceData/messageTypes").status_code == 200


def test_partner_scopes_are_not_given_to_senders(integrator):
    response = requests.post(
        f"{integrator.url}/o/token/",
        data={"grant_type": "client_credentials", "scope": "ebox.read"},
        auth=(integrator.issued.client_id, integrator.issued.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_revocation_takes_effect_at_once(integrator):
    url = f"{integrator.url}/api/v2/referenceData/senderApplications"
    assert integrator.session.get(url).status_code == 200
    services.revoke_sender_application(integrator.application)
    response = integrator.session.get(url)
    assert response.status_code == 401
    # A new token cannot be had either: the secret no longer works.
    refused = requests.post(
        f"{integrator.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(integrator.issued.client_id, integrator.issued.client_secret),
    )
    assert refused.status_code == 401


def test_revoked_at_alone_refuses_existing_tokens(integrator):
    integrator.application.revoked_at = timezone.now()
    integrator.application.save()
    response = integrator.session.get(f"{integrator.url}/api/v2/referenceData/messageTypes")
    assert "revoked" in assert_status_message(response, 401)["message"]


def test_authorisation_server_metadata(live_server, transactional_db):
    metadata = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"].endswith("/o/token/")
    assert "client_credentials" in metadata["grant_types_supported"]
    assert "publication" in metadata["scopes_supported"]


# --- Organisations see only their own messages -------------------------------------------


def test_an_organisation_never_sees_another_ones_messages(integrator, other_integrator, activated_citizen):
    data = message_json(bodyContent={"fr": "x"}, bodyMainContent=True, attachments=[])
    mine = publish(integrator, data).json()["messageId"]
    theirs = publish(
        other_integrator, message_json(bodyContent={"fr": "y"}, bodyMainContent=True, attachments=[])
    ).json()["messageId"]
    search = integrator.session.post(f"{integrator.url}/api/v2/searchMessageStatus", json=[{"messageId": theirs}])
    assert_status_message(search, 404)
    both = integrator.session.post(
        f"{integrator.url}/api/v2/searchMessageStatus", json=[{"messageId": mine}, {"messageId": theirs}]
    )
    assert [s["messageId"] for s in both.json()] == [mine]
    link = integrator.session.post(
        f"{integrator.url}/api/v2/linkEboxMessage",
        json={"messageId": theirs, "recipients": [{"eboxType": "citizen", "eboxIdValue": CITIZEN}]},
    )
    assert_status_message(link, 404)
    reply_to_theirs = publish(
        integrator,
        message_json(originalMessageId=theirs, bodyContent={"fr": "x"}, bodyMainContent=True, attachments=[]),
    )
    assert_status_message(reply_to_theirs, 400, "originalMessageId")


def test_search_message_status(integrator, activated_citizen):
    message_id = publish(
        integrator, message_json(bodyContent={"fr": "x"}, bodyMainContent=True, attachments=[])
    ).json()["messageId"]
    response = integrator.session.post(
        f"{integrator.url}/api/v2/searchMessageStatus",
        json=[{"messageId": message_id, "eboxId": {"eboxType": "citizen", "eboxIdValue": CITIZEN}}],
    )
    assert response.status_code == 201
    assert_matches(response.json(), "MessagesStatusList")
    (status,) = response.json()
    assert (status["readStatus"], status["visible"], status["status"]) == (False, True, "accepted")


def test_link_ebox_message(integrator, activated_citizen):
    message_id = publish(
        integrator, message_json(bodyContent={"fr": "x"}, bodyMainContent=True, attachments=[])
    ).json()["messageId"]
    response = integrator.session.post(
        f"{integrator.url}/api/v2/linkEboxMessage",
        json={
            "messageId": message_id,
            "recipients": [
                {"eboxType": "citizen", "eboxIdValue": "92041512329"},
                {"eboxType": "citizen", "eboxIdValue": "85.07.30-033.28"},
                {"eboxType": "citizen", "eboxIdValue": "12345678901"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert_matches(body, "LinkResponse")
    assert body["nbSuccessLinks"] == 2
    assert body["errorCases"] == [{"eboxType": "citizen", "eboxIdValue": "12345678901"}]
    original = Message.objects.get(id=message_id)
    assert Message.objects.filter(content=original.content).count() == 3
    assert MessageContent.objects.count() == 1


def test_ebox_preferences_search(integrator, activated_citizen, transactional_db):
    activated_citizen.last_connection_at = timezone.now()
    activated_citizen.save()
    response = integrator.session.post(
        f"{integrator.url}/api/v2/eboxPreferences/search",
        json={"eboxType": "CITIZEN", "eboxIdType": "INSS", "eboxIdValueList": [CITIZEN, "78110345605"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert_matches(body, "EboxPreferencesList", FEDERATION)
    assert [(p["exclusivelyEbox"], p["channel"]) for p in body] == [(True, "digital"), (False, "paper")]
    assert "lastConnectionDate" in body[0]
    bad = integrator.session.post(
        f"{integrator.url}/api/v2/eboxPreferences/search",
        json={"eboxType": "CITIZEN", "eboxIdType": "INSS", "eboxIdValueList": ["85073003329"]},
    )
    assert_status_message(bad, 400, "eboxIdValueList[0]")


def test_reference_data(integrator, other_integrator):
    s, url = integrator.session, f"{integrator.url}/api/v2/referenceData"
    types = s.get(f"{url}/messageTypes").json()
    assert_matches(types, "MessageTypes")
    assert types["totalItems"] == 2
    one = s.get(f"{url}/messageTypes/tax").json()
    assert_matches(one, "MessageType")
    assert one["senderApplicationIds"] == ["myminfin"]
    apps = s.get(f"{url}/senderApplications?pageSize=1&page=2").json()
    assert_matches(apps, "SenderApplications")
    assert (apps["totalItems"], len(apps["items"])) == (2, 1)
    assert_matches(s.get(f"{url}/senderApplications/myminfin").json(), "SenderApplication")
    orgs = s.get(f"{url}/senderOrganizations").json()
    assert_matches(orgs, "SenderOrganizations")
    assert_matches(s.get(f"{url}/senderOrganizations/0308357159").json(), "SenderOrganization")
    assert_status_message(s.get(f"{url}/messageTypes/nope"), 404)
    assert_status_message(s.get(f"{url}/senderOrganizations/0000000000"), 404)
    assert_status_message(s.get(f"{url}/senderApplications?pageSize=101"), 400, "pageSize")


# --- The batch extension -------------------------------------------------------------------


def test_batch_publication_gives_a_result_per_item(integrator, activated_citizen, pdf_bytes):
    import base64

    doc = {"fileName": "letter.pdf", "mediaType": "application/pdf", "content": base64.b64encode(pdf_bytes).decode()}
    good = message_json(messageTypeId="tax")
    items = [
        {"messageToPublish": good, "documents": {"upfile1": doc}, "idempotencyKey": "c-1"},
        {"messageToPublish": message_json("85073003329", messageTypeId="tax"), "documents": {"upfile1": doc}},
        {"messageToPublish": good, "documents": {"upfile1": doc}, "idempotencyKey": "c-1"},
        {"messageToPublish": {**good, "attachments": []}, "documents": {}},
        {"messageToPublish": good, "documents": {"upfile1": {**doc, "content": "!!!"}}},
        {"messageToPublish": message_json("92041512329", messageTypeId="tax"), "documents": {"upfile1": doc}},
    ]
    response = integrator.session.post(f"{integrator.url}/api/v2/extensions/publishMessages", json={"messages": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["items"]] == [201, 400, 409, 400, 400, 201]
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert body["items"][1]["details"][0]["ref"] == "recipient.eboxIdValue"
    assert body["items"][0]["messageId"] in body["items"][2]["message"]
    assert [body["items"][0]["code"], body["items"][5]["code"]] == ["digital", "paper"]
    for result in (body["items"][0], body["items"][5]):
        assert_matches(
            {k: result[k] for k in ("messageId", "expirationDate", "code", "message")}, "PublicationStatusMessage"
        )
    assert Message.objects.count() == MessageContent.objects.count() == Attachment.objects.count() == 2
    # The new recipient is registered on first sight with the model's defaults, not activated.
    newcomer = Citizen.objects.get(national_number="92041512329")
    assert newcomer.activated_at is None and newcomer.created_at is not None
    assert (newcomer.preferred_language, newcomer.email, newcomer.notify_new_messages) == ("fr", "", True)
    # Rows written with COPY read back like any other: seal, then decrypt and check the seal.
    from messages.services import reading, sealing

    stored = Message.objects.get(id=body["items"][0]["messageId"])
    assert sealing.seal_messages([stored.id]) == 1
    stored.refresh_from_db()
    assert reading.verified_text(stored).subject == good["subject"]
    assert stored.status == "sealed" and stored.sealed_at >= stored.received_at
    # The same batch again: the keyed item is a duplicate, the others are new.
    again = integrator.session.post(f"{integrator.url}/api/v2/extensions/publishMessages", json={"messages": items[:1]})
    assert again.json()["items"][0]["status"] == 409


# --- Schema, docs, commands ----------------------------------------------------------------


def test_schema_and_docs_are_served_locally(live_server, transactional_db):
    schema = requests.get(f"{live_server.url}/api/v2/schema/?format=json").json()
    assert "/api/v2/publishMessage" in schema["paths"]
    assert "/api/v2/extensions/publishMessages" in schema["paths"]
    assert "en" in schema["components"]["schemas"]["TranslatedString"]["properties"]
    html = requests.get(f"{live_server.url}/api/v2/docs/").text
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html
    import re

    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any("swagger-ui-bundle" in a for a in assets), assets
    for asset in assets:
        assert requests.get(f"{live_server.url}{asset}").status_code == 200, asset


def test_create_sender_application_prints_the_credentials_once(transactional_db, live_server, capsys):
    call_command("create_organisation", "BE 0308.357.159", "--name-fr", "SPF Finances")
    call_command("create_sender_application", "0308357159", "--application-id", "myminfin")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "organisation=0308357159"
    client_id = lines[1].removeprefix("client_id=")
    client_secret = lines[2].removeprefix("client_secret=")
    assert lines[1].startswith("client_id=") and lines[2].startswith("client_secret=") and len(lines) == 3
    # Only a hash is stored, and the printed secret works at the token endpoint.
    from oauth2_provider.models import Application

    assert Application.objects.get(client_id=client_id).client_secret != client_secret
    assert token_session(live_server.url, client_id, client_secret).token["access_token"]
    # Again for the same application: a new secret; the old one stops working.
    call_command("create_sender_application", "0308357159", "--application-id", "myminfin")
    new_secret = capsys.readouterr().out.strip().splitlines()[1].removeprefix("client_secret=")
    assert new_secret != client_secret
    assert token_session(live_server.url, client_id, new_secret).token["access_token"]
    refused = requests.post(
        f"{live_server.url}/o/token/", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
    )
    assert refused.status_code == 401


def test_revoking_in_the_admin(integrator, client, django_user_model):
    admin = django_user_model.objects.create_superuser("operator", "op@example.be", "pw-operator-1")
    client.force_login(admin)
    response = client.post(
        "/admin/senders/senderapplication/",
        {"action": "revoke", "_selected_action": [integrator.application.pk]},
        follow=True,
    )
    assert response.status_code == 200
    integrator.application.refresh_from_db()
    assert integrator.application.revoked_at is not None
    assert integrator.session.get(f"{integrator.url}/api/v2/referenceData/messageTypes").status_code == 401


def test_an_enterprise_recipient(integrator):
    data = message_json(bodyContent={"nl": "Beste"}, bodyMainContent=True, attachments=[])
    data["recipient"] = {"eboxType": "enterprise", "eboxIdValue": "BE 0206.731.645"}
    response = publish(integrator, data)
    assert response.status_code == 201, response.text
    message = Message.objects.get(id=response.json()["messageId"])
    # The enterprise's eBox (a Citizen row of kind enterprise) holds it; not activated: paper.
    assert (message.recipient_type, message.recipient_id) == ("enterprise", "0206731645")
    assert (message.citizen.kind, message.citizen.national_number) == ("enterprise", "0206731645")
    assert message.channel == "paper" and response.json()["code"] == "paper"


def test_api_errors_are_in_english_unless_the_client_asks(integrator, pdf_bytes):
    data = message_json(number="85073003329")
    english = publish(integrator, dict(data), {"upfile1": pdf_part(pdf_bytes)}).json()
    assert "is not a valid national register or BIS number" in english["message"]
    french = publish(integrator, dict(data), {"upfile1": pdf_part(pdf_bytes)}, headers={"Accept-Language": "fr"}).json()
    assert "n'est pas un numéro de registre national" in french["message"]
