"""The replies extension: an organisation lists the replies citizens sent to its messages, over a
live server with a real OAuth client (client credentials), and fetches their attachments."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import AccessToken

from audit.models import AuditEntry
from citizens import services as citizen_services
from messages import crypto
from messages.models import IntegrityIncident, Reply
from messages.services import publishing, replies, sealing
from senders import services as sender_services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import assert_status_message, token_session


def integrator(base_url: str, enterprise_number: str, app_id: str, scope: str | None = None):
    organisation = sender_services.create_organisation(enterprise_number, {"fr": f"Org {app_id}"})
    message_type = MessageTypeFactory(organisation=organisation)
    issued = sender_services.create_sender_application(organisation, app_id)
    session = token_session(base_url, issued.client_id, issued.client_secret, scope=scope)
    return organisation, message_type, issued.sender_application, session


@pytest.fixture
def org_a(transactional_db, live_server):
    return integrator(live_server.url, "0308357159", "app-a")


@pytest.fixture
def org_b(org_a, live_server):
    return integrator(live_server.url, "0206731645", "app-b")


def publish_to(citizen, organisation_parts, pdf_bytes, **overrides):
    _, message_type, application, _ = organisation_parts
    new = publishing.NewMessage(
        sender_application=application,
        message_type=message_type,
        recipient_type="citizen",
        recipient_id=citizen.national_number,
        subject={"fr": "Demande de pièces"},
        body={"fr": "Répondez-nous"},
        reply_authorized=True,
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(pdf_bytes), file_name="letter.pdf", media_type="application/pdf", main_content=True
            )
        ],
        **overrides,
    )
    message = publishing.publish_message(new)
    sealing.seal_messages([message.id])
    message.refresh_from_db()
    return message


def test_an_organisation_lists_only_the_replies_to_its_messages(live_server, org_a, org_b, pdf_bytes):
    citizen = CitizenFactory(activated=True)
    to_a = publish_to(citizen, org_a, pdf_bytes)
    to_b = publish_to(citizen, org_b, pdf_bytes)
    proof = pdf_bytes + b"%proof"
    first = replies.reply_to_message(to_a, citizen, "Voici le document demandé.")
    second = replies.reply_to_message(
        to_a,
        citizen,
        "Et la preuve de paiement.",
        publishing.AttachmentUpload(file=io.BytesIO(proof), file_name="preuve.pdf", media_type="application/pdf"),
    )
    theirs = replies.reply_to_message(to_b, citizen, "Pour B seulement.")
    session_a, session_b = org_a[3], org_b[3]
    url = live_server.url + "/api/v2/extensions/replies"

    listing = session_a.get(url)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["totalItems"] == 2
    assert [r["replyId"] for r in body["items"]] == [str(second.id), str(first.id)]  # newest first
    newest = body["items"][0]
    assert newest["originalMessageId"] == str(to_a.id)
    assert newest["eboxId"] == {"eboxType": "citizen", "eboxIdValue": citizen.national_number}
    assert newest["text"] == "Et la preuve de paiement." and newest["integrityFailure"] is False
    assert newest["attachment"]["fileName"] == "preuve.pdf"
    assert newest["attachment"]["size"] == len(proof)
    digest = base64.urlsafe_b64encode(hashlib.sha256(proof).digest()).decode().rstrip("=")
    assert newest["attachment"]["digest"] == {"digestMethod": "sha_256", "digestValue": digest}
    assert body["items"][1]["attachment"] is None
    assert str(theirs.id) not in listing.text and "Pour B" not in listing.text

    # Paging like the spec's lists.
    paged = session_a.get(url, params={"page": 2, "pageSize": 1}).json()
    assert paged["totalItems"] == 2 and [r["replyId"] for r in paged["items"]] == [str(first.id)]
    assert_status_message(session_a.get(url, params={"pageSize": 500}), 400, "pageSize")
    assert_status_message(session_a.get(url, params={"page": "x"}), 400, "page")

    # The attachment's bytes, as the citizen sent them.
    content = session_a.get(live_server.url + newest["attachment"]["href"])
    assert content.status_code == 200
    assert content.content == proof
    assert content.headers["Content-Type"] == "application/pdf"

    # Organisation B sees only its own, and never A's attachment.
    assert [r["replyId"] for r in session_b.get(url).json()["items"]] == [str(theirs.id)]
    assert_status_message(session_b.get(live_server.url + newest["attachment"]["href"]), 404)

    # The audit trail names the replies returned.
    entry = AuditEntry.objects.filter(url="/api/v2/extensions/replies", status_code=200).order_by("id").first()
    assert set(entry.ids) == {str(first.id), str(second.id)}


def test_the_replies_scope_is_required(live_server, org_a, pdf_bytes):
    organisation, _, application, _ = org_a
    issued = sender_services.create_sender_application(organisation, "no-replies")
    publication_only = token_session(live_server.url, issued.client_id, issued.client_secret, scope="publication")
    url = live_server.url + "/api/v2/extensions/replies"
    body = assert_status_message(publication_only.get(url), 403)
    assert "replies" in body["message"]
    assert_status_message(requests.get(url, timeout=10), 401)
    # A partner app's token (a citizen's consent) is no sender's token.
    partner, _secret = citizen_services.create_partner_application(
        name={"fr": "Coffre"}, redirect_uris=["https://partner.example/cb"], scopes=["ebox.read"]
    )
    AccessToken.objects.create(
        application=partner.oauth_application,
        token="partner-token",
        scope="ebox.read",
        expires=timezone.now() + dt.timedelta(minutes=5),
    )
    refused = requests.get(url, headers={"Authorization": "Bearer partner-token"}, timeout=10)
    assert assert_status_message(refused, 403)["message"] == "this client is not a sender application"


def test_a_tampered_reply_is_detected_and_withheld(live_server, org_a, pdf_bytes):
    citizen = CitizenFactory(activated=True)
    message = publish_to(citizen, org_a, pdf_bytes)
    reply = replies.reply_to_message(
        message,
        citizen,
        "Texte original.",
        publishing.AttachmentUpload(file=io.BytesIO(pdf_bytes), file_name="a.pdf", media_type="application/pdf"),
    )
    intact = replies.reply_to_message(message, citizen, "Une autre réponse.")
    session = org_a[3]
    url = live_server.url + "/api/v2/extensions/replies"

    # Swap in a text encrypted under the reply's own key: it decrypts, but the seal no longer matches.
    data_key = crypto.unwrap_key(reply.kek_id, bytes(reply.wrapped_key))
    Reply.objects.filter(pk=reply.pk).update(
        text_ct=crypto.encrypt_field(data_key, reply.id, "text", "Texte falsifié.".encode())
    )
    items = {r["replyId"]: r for r in session.get(url).json()["items"]}
    assert items[str(reply.id)]["integrityFailure"] is True
    assert "text" not in items[str(reply.id)] and items[str(reply.id)]["attachment"] is None
    assert items[str(intact.id)]["text"] == "Une autre réponse."
    assert "falsifié" not in str(items)
    incident = IntegrityIncident.objects.get()
    assert incident.message_id == message.id and str(reply.id) in incident.reason
    message.refresh_from_db()
    assert message.integrity_failed_at is None  # the message itself is intact and stays readable
    assert_status_message(session.get(url + f"/{reply.id}/attachment"), 409)
    session.get(url)  # seen again: still one open incident
    assert IntegrityIncident.objects.count() == 1


def test_a_tampered_reply_attachment_is_refused(live_server, org_a, pdf_bytes):
    from django.core.files.storage import default_storage

    citizen = CitizenFactory(activated=True)
    message = publish_to(citizen, org_a, pdf_bytes)
    reply = replies.reply_to_message(
        message,
        citizen,
        "Avec pièce.",
        publishing.AttachmentUpload(file=io.BytesIO(pdf_bytes), file_name="a.pdf", media_type="application/pdf"),
    )
    path = default_storage.path(reply.attachment_blob)
    blob = bytearray(open(path, "rb").read())
    blob[-5] ^= 0x01
    open(path, "wb").write(bytes(blob))
    response = org_a[3].get(live_server.url + f"/api/v2/extensions/replies/{reply.id}/attachment")
    assert_status_message(response, 409)
    assert "attachment" in IntegrityIncident.objects.get().reason


def test_a_reply_posted_in_the_portal_appears_in_the_api(live_server, org_a, pdf_bytes, client):
    citizen = CitizenFactory(activated=True)
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    message = publish_to(citizen, org_a, pdf_bytes)
    client.force_login(citizen.user)
    upload = io.BytesIO(pdf_bytes)
    upload.name = "reponse.pdf"
    response = client.post(f"/inbox/{message.id}/reply/", {"text": "Réponse depuis le portail.", "attachment": upload})
    assert response.status_code == 302
    items = org_a[3].get(live_server.url + "/api/v2/extensions/replies").json()["items"]
    assert [(r["originalMessageId"], r["text"]) for r in items] == [(str(message.id), "Réponse depuis le portail.")]
    assert items[0]["attachment"]["fileName"] == "reponse.pdf"
    content = org_a[3].get(live_server.url + items[0]["attachment"]["href"])
    assert content.content == pdf_bytes
