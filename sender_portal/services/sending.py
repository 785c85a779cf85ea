"""Sending one letter from the portal: the form's values become a `messageToPublish` and its parts, checked
by THE publication validation (senders.publication) and stored by THE publishing service
(messages.services.publishing), exactly as the API does: there is no second code path.

Between the preview and the send, the letter is a draft: its publication in the session, its PDFs
encrypted in the attachment storage under a key wrapped by the KEK (never plaintext at rest).
"""

from __future__ import annotations

import base64
import tempfile
import uuid
from dataclasses import dataclass

from audit import services as audit
from messages import blobs, crypto
from messages.models import Message
from messages.services.publishing import DuplicatePublication, NewMessage, publish_message, store_encrypted_blob
from sender_portal.services import CivilServant
from senders.models import Organisation, SenderApplication
from senders.publication.attachments import PART_NAMES, ReceivedPart
from senders.publication.fields import PublicationError
from senders.publication.new_message import Context, build_new_message

DRAFTS_FOLDER = "portal-drafts"
SENDING_ROLES = ("administrator", "sender")


def portal_application(organisation: Organisation) -> SenderApplication:
    """The sender application that stands for the portal of this organisation (no OAuth client: only the
    portal publishes with it, so the letters' history says they came from the portal)."""
    application, _ = SenderApplication.objects.get_or_create(
        application_id=f"portal-{organisation.enterprise_number}",
        defaults={
            "organisation": organisation,
            "name": {
                "fr": "Portail expéditeur",
                "nl": "Verzendersportaal",
                "de": "Absenderportal",
                "en": "Sender portal",
            },
        },
    )
    return application


@dataclass
class Upload:
    """A file from the form: name, declared type, an open binary file."""

    name: str
    content_type: str
    file: object
    size: int


def parts_of(uploads: list[Upload]) -> dict[str, ReceivedPart]:
    return {
        PART_NAMES[i]: ReceivedPart(file=u.file, name=u.name, content_type=u.content_type, size=u.size)
        for i, u in enumerate(uploads[: len(PART_NAMES)])
    }


def publication_of(values: dict, documents: int) -> dict:
    """The `messageToPublish` for the portal form's cleaned values (see sender_portal.sending_forms)."""
    subject = {lang: values[f"subject_{lang}"] for lang in ("fr", "nl", "de", "en") if values.get(f"subject_{lang}")}
    body = {lang: values[f"body_{lang}"] for lang in ("fr", "nl", "de", "en") if values.get(f"body_{lang}")}
    data: dict = {
        "messageTypeId": values["message_type"],
        "recipient": {"eboxType": values["recipient_type"], "eboxIdValue": values["recipient"]},
        "subject": subject,
        "registeredMail": bool(values.get("registered_mail")),
        "replyAuthorized": bool(values.get("reply_authorized")),
        # The first PDF is the letter itself; without a PDF the body is.
        "bodyMainContent": documents == 0,
        "attachments": [
            {"httpPartName": PART_NAMES[i], "mainContent": i == 0, "attachmentSigned": False} for i in range(documents)
        ],
    }
    if body:
        data["bodyContent"] = body
    if values.get("amount") is not None:
        payment = {
            "paymentDataId": str(uuid.uuid4()),
            "amount": float(values["amount"]),
            "vatAmount": 0,
            "currency": "EUR",
            "dueDate": values["due_date"].isoformat() if values.get("due_date") else "",
            "iban": values.get("iban", ""),
        }
        if values.get("reference"):
            payment["reference"] = {"structured": values["reference"]}
        data["paymentData"] = payment
    if values.get("original_message"):
        data["originalMessageId"] = str(values["original_message"])
    return data


def check(
    organisation: Organisation, data: dict, uploads: list[Upload], idempotency_key: str | None = None
) -> NewMessage:
    """The publication validation of the API; raises PublicationError listing every problem."""
    context = Context.for_application(portal_application(organisation))
    return build_new_message(data, parts_of(uploads), context, idempotency_key=idempotency_key)


# --- Drafts: what the preview shows and the send publishes ---------------------------------------


def save_draft(data: dict, uploads: list[Upload]) -> dict:
    """Keep the checked letter until it is sent: returns the draft (JSON, for the session)."""
    draft_id = uuid.uuid4()
    files = []
    for i, upload in enumerate(uploads):
        data_key = crypto.new_data_key()
        kek_id, wrapped = crypto.wrap_key(data_key)
        owner = uuid.uuid5(draft_id, str(i))
        upload.file.seek(0)
        size, _, name = store_encrypted_blob(data_key, owner, upload.file, DRAFTS_FOLDER)
        files.append(
            {
                "name": upload.name,
                "content_type": upload.content_type,
                "size": size,
                "blob": name,
                "owner": str(owner),
                "kek_id": kek_id,
                "wrapped": base64.b64encode(wrapped).decode(),
            }
        )
    return {"id": str(draft_id), "data": data, "files": files}


def draft_uploads(draft: dict) -> list[Upload]:
    uploads = []
    for f in draft["files"]:
        data_key = crypto.unwrap_key(f["kek_id"], base64.b64decode(f["wrapped"]))
        spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
        with blobs.open_encrypted(f["blob"]) as source:
            for chunk in crypto.decrypt_stream(data_key, f["owner"], "bytes", source):
                spool.write(chunk)
        spool.seek(0)
        uploads.append(Upload(f["name"], f["content_type"], spool, f["size"]))
    return uploads


def discard_draft(draft: dict | None) -> None:
    for f in (draft or {}).get("files", []):
        blobs.delete(f["blob"])


def send_draft(draft: dict, by: CivilServant) -> Message:
    """Publish the draft (checked again: the recipient or the type may have changed since the preview).

    The draft id is the Idempotency-Key: sending the same draft twice (a double click) stores one letter.
    The audit entry names the civil servant and their role, and is appended with the letter.
    """
    if not by.has(*SENDING_ROLES):
        raise PermissionError("no sending role")
    uploads = draft_uploads(draft)
    try:
        new = check(by.organisation, draft["data"], uploads, idempotency_key=f"portal-draft-{draft['id']}")
        entry = audit.Entry(method="POST", url="sender-portal:send_letter", status_code=201, actor=by.actor)
        message = publish_message(new, audit_entry=entry)
    finally:
        for upload in uploads:
            upload.file.close()
    discard_draft(draft)
    return message


__all__ = [
    "DuplicatePublication",
    "PublicationError",
    "check",
    "discard_draft",
    "publication_of",
    "save_draft",
    "send_draft",
]
