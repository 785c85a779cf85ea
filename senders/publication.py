"""Business rules of a publication: a `messageToPublish` and its parts → a validated NewMessage.

Used by `/publishMessage` (multipart parts) and the batch extension (base64 documents).
Every faulty field gives one detail (see `senders.api.errors.detail`); nothing is
stored until everything checks out (storing is `messages.services.publishing`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from citizens.models import Citizen
from ebox import db
from ebox.i18n import CONTENT_LANGUAGES
from ebox.identifiers import normalise_enterprise_number, normalise_national_number
from messages.models import Message
from messages.services.publishing import AttachmentUpload, NewMessage
from senders.models import MessageType, SenderApplication

PART_NAMES = tuple(f"upfile{i}" for i in range(1, 7))
MAX_TEXT = 100_000  # characters per language of a body; subjects are shorter
MAX_SUBJECT = 500
MAX_IDEMPOTENCY_KEY = 200

# Media types we accept, detected from the bytes: (type, extensions, declared types that mean the same).
MEDIA_TYPES = {
    "application/pdf": ((".pdf",), {"application/pdf", "application/x-pdf"}),
    "image/png": ((".png",), {"image/png"}),
    "image/jpeg": ((".jpg", ".jpeg"), {"image/jpeg", "image/jpg", "image/pjpeg"}),
    "text/xml": ((".xml",), {"text/xml", "application/xml"}),
}
# Declared types that say nothing (clients often send these): no mismatch is possible.
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


class PublicationError(Exception):
    """Invalid publication: `status` (400, 404, 413) and one detail per faulty field."""

    def __init__(self, details: list[dict], status: int = 400, message: str | None = None):
        self.details = details
        self.status = status
        self.message = message or "; ".join(f"{d['ref']}: {d['message']}" for d in details)
        super().__init__(self.message)


def detail(ref: str, message: str, kind: str = "invalid") -> dict:
    return {"kind": kind, "ref": ref, "message": str(message)}


@dataclass
class ReceivedPart:
    """A file part as received: a file (memory or a spooled temporary file), its name, declared type and size."""

    file: BinaryIO
    name: str
    content_type: str
    size: int
    too_large: bool = False  # past EBOX_MAX_ATTACHMENT_BYTES: the rest was dropped

    def close(self) -> None:
        """Django closes a request's files when it ends (a spooled temporary file is then deleted)."""
        self.file.close()


def detect_media_type(head: bytes) -> str | None:
    """The media type from the first bytes, or None if not one we accept."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml") or (text[:1] == b"<" and text[1:2].isalpha()):
        return "text/xml"
    return None


def _sha256_b64url(file: BinaryIO) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1 << 16), b""):
        digest.update(chunk)
    file.seek(0)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def _translated(value, ref: str, errors: list[dict], *, required: bool, max_length: int) -> dict[str, str] | None:
    if value is None:
        if required:
            errors.append(detail(ref, "missing: give it in at least one of nl, fr, de, en", "missing"))
        return None
    if not isinstance(value, dict):
        errors.append(detail(ref, 'must be an object like {"fr": "…", "nl": "…"}'))
        return None
    unknown = sorted(set(value) - set(CONTENT_LANGUAGES))
    if unknown:
        errors.append(detail(ref, f"unknown language(s) {', '.join(unknown)}: use nl, fr, de, en"))
        return None
    out = {}
    for language, text in value.items():
        if text is None:
            continue
        if not isinstance(text, str):
            errors.append(detail(f"{ref}.{language}", "must be a string"))
            continue
        if len(text) > max_length:
            errors.append(detail(f"{ref}.{language}", f"longer than {max_length} characters"))
            continue
        if text.strip():
            out[language] = text
    if not out and required:
        errors.append(detail(ref, "empty: give it in at least one of nl, fr, de, en", "missing"))
        return None
    return out or None


def _boolean(data: dict, key: str, errors: list[dict], default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.append(detail(key, "must be true or false"))
        return default
    return value


def parse_recipient(value, ref: str, errors: list[dict]) -> tuple[str, str] | None:
    """An EboxId → (recipient type, compact number), or None with a detail added."""
    if not isinstance(value, dict):
        errors.append(detail(ref, 'missing or not an object like {"eboxType": "citizen", "eboxIdValue": "…"}'))
        return None
    ebox_type = str(value.get("eboxType", "")).lower()
    number = value.get("eboxIdValue")
    if ebox_type not in (Message.RecipientType.CITIZEN, Message.RecipientType.ENTERPRISE):
        errors.append(detail(f"{ref}.eboxType", "must be citizen or enterprise"))
        return None
    if not isinstance(number, str) or not number:
        errors.append(detail(f"{ref}.eboxIdValue", "missing", "missing"))
        return None
    try:
        if ebox_type == Message.RecipientType.CITIZEN:
            return ebox_type, normalise_national_number(number)
        return ebox_type, normalise_enterprise_number(number)
    except ValidationError as exc:
        errors.append(detail(f"{ref}.eboxIdValue", exc.messages[0]))
        return None


def _payment_data(value, errors: list[dict]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(detail("paymentData", "must be an object"))
        return None
    for key in ("paymentDataId", "amount", "vatAmount", "currency", "dueDate", "iban"):
        if value.get(key) in (None, ""):
            errors.append(detail(f"paymentData.{key}", "missing", "missing"))
    for key in ("amount", "vatAmount"):
        amount = value.get(key)
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0):
            errors.append(detail(f"paymentData.{key}", "must be a number ≥ 0"))
    currency = value.get("currency")
    if currency is not None and (not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()):
        errors.append(detail("paymentData.currency", "must be an ISO 4217 code such as EUR"))
    due = value.get("dueDate")
    if due is not None and (not isinstance(due, str) or not _parse_date_or_datetime(due)):
        errors.append(detail("paymentData.dueDate", "must be a date or date-time (ISO 8601)"))
    iban = value.get("iban")
    if iban is not None:
        try:
            stdnum_iban.validate(str(iban))
        except StdnumError as exc:
            errors.append(detail("paymentData.iban", f"not a valid IBAN: {exc.message}"))
    return value


def _parse_date_or_datetime(value: str) -> bool:
    try:
        if parse_datetime(value):
            return True
        dt.date.fromisoformat(value[:10])
        return len(value) == 10
    except ValueError:
        return False


def _business_data(value, errors: list[dict]) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list):
        errors.append(detail("businessDataList", "must be an array"))
        return None
    for i, item in enumerate(value):
        ref = f"businessDataList[{i}]"
        if not isinstance(item, dict):
            errors.append(detail(ref, "must be an object"))
            continue
        if not isinstance(item.get("key"), str) or not item.get("key"):
            errors.append(detail(f"{ref}.key", "missing", "missing"))
        if not isinstance(item.get("values"), list):
            errors.append(detail(f"{ref}.values", "missing or not an array", "missing"))
    return value or None


@dataclass
class Context:
    """Who publishes: the token's sender application, with the message types (and citizens) already known."""

    sender_application: SenderApplication
    message_types: dict[str, MessageType | None]
    citizens: dict[str, Citizen | None] = field(default_factory=dict)

    @classmethod
    def for_application(
        cls, sender_application: SenderApplication, preload: bool = False, looked_up: tuple | None = None
    ) -> Context:
        """`preload` loads all the organisation's types (a batch); otherwise each is fetched when named.

        `looked_up`: ((type id, national number), (MessageType or None, Citizen or None)) already
        fetched for this request (publishMessage fetches them with its token).
        """
        context = cls(sender_application, {})
        if preload:
            context.message_types = {
                t.message_type_id: t
                for t in MessageType.objects.filter(organisation_id=sender_application.organisation_id)
            }
        if looked_up is not None:
            (type_id, number), (message_type, citizen) = looked_up
            context.message_types[type_id] = message_type
            context.citizens[number] = citizen
        return context

    def message_type_and_citizen(self, type_id: str, national_number: str) -> tuple[MessageType | None, Citizen | None]:
        """The message type (as `message_type`) and the citizen known by this number, in one statement.

        With the type already known, no query: the citizen if known too, else None (a batch
        preloads its types, and looks its citizens up all together later; a single
        publication's citizen is then found or registered when stored).
        """
        if type_id in self.message_types:
            return self.message_types[type_id], self.citizens.get(national_number)
        message_type, citizen = db.fetch_each(
            (MessageType, {"organisation_id": self.sender_application.organisation_id, "message_type_id": type_id}),
            (Citizen, {"national_number": national_number}),
        )
        self.message_types[type_id] = message_type
        return message_type, citizen

    def message_type(self, type_id: str) -> MessageType | None:
        if type_id not in self.message_types:
            self.message_types[type_id] = db.fetch_one(
                MessageType, organisation_id=self.sender_application.organisation_id, message_type_id=type_id
            )
        return self.message_types[type_id]


def parse_message_to_publish(raw: str | bytes | None) -> dict:
    """The `messageToPublish` part → a dict, or PublicationError."""
    if raw is None:
        raise PublicationError([detail("messageToPublish", "part missing", "missing")])
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PublicationError([detail("messageToPublish", f"not valid JSON: {exc}")]) from exc
    if not isinstance(data, dict):
        raise PublicationError([detail("messageToPublish", "must be a JSON object")])
    return data


def lookup_keys(data: object) -> tuple[str, str] | None:
    """(message type id, national number) a publication names, when both are plainly there: what
    can be fetched before validation (with the token). None otherwise (validation looks them up)."""
    if not isinstance(data, dict) or not isinstance(data.get("recipient"), dict):
        return None
    type_id, recipient = data.get("messageTypeId"), data["recipient"]
    number = recipient.get("eboxIdValue")
    if not isinstance(type_id, str) or not type_id or str(recipient.get("eboxType")).lower() != "citizen":
        return None
    if not isinstance(number, str) or len(number) != 11 or not number.isdigit():
        return None  # a formatted number is compacted (and checked) by validation first
    return type_id, number


def build_new_message(
    data: dict,
    parts: dict[str, ReceivedPart],
    context: Context,
    *,
    idempotency_key: str | None = None,
    oversized: list[str] | tuple[str, ...] = (),
) -> NewMessage:
    """Validate everything and return the NewMessage; raise PublicationError listing every problem."""
    errors: list[dict] = []
    application = context.sender_application
    organisation = application.organisation

    if idempotency_key is not None and (not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY):
        errors.append(detail("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"))

    recipient = parse_recipient(data.get("recipient"), "recipient", errors)
    subject = _translated(data.get("subject"), "subject", errors, required=True, max_length=MAX_SUBJECT)
    body = _translated(data.get("bodyContent"), "bodyContent", errors, required=False, max_length=MAX_TEXT)
    body_main = _boolean(data, "bodyMainContent", errors)
    registered = _boolean(data, "registeredMail", errors)
    reply_authorized = _boolean(data, "replyAuthorized", errors)

    message_type = None
    type_id = data.get("messageTypeId")
    citizen = None
    if recipient and recipient[0] == Message.RecipientType.CITIZEN and type_id and isinstance(type_id, str):
        # One round trip for both look-ups a publication needs (the type is then cached below).
        _, citizen = context.message_type_and_citizen(type_id, recipient[1])
    if not type_id:
        errors.append(detail("messageTypeId", "missing", "missing"))
    elif not isinstance(type_id, str) or context.message_type(type_id) is None:
        errors.append(
            detail("messageTypeId", f"{type_id} is not a message type of organisation {organisation.enterprise_number}")
        )
    else:
        message_type = context.message_type(type_id)

    org_id = data.get("senderOrganizationId")
    if org_id is not None and str(org_id) != organisation.enterprise_number:
        errors.append(
            detail("senderOrganizationId", f"does not match the token's organisation {organisation.enterprise_number}")
        )
    app_id = data.get("senderApplicationId")
    if app_id is not None and str(app_id) != application.application_id:
        errors.append(
            detail("senderApplicationId", f"does not match the token's application {application.application_id}")
        )

    expires_at = None
    if data.get("expirationDate") is not None:
        raw = data["expirationDate"]
        try:
            expires_at = parse_datetime(raw) if isinstance(raw, str) else None
        except ValueError:
            expires_at = None
        if expires_at is None or expires_at.tzinfo is None:
            errors.append(detail("expirationDate", "must be a date-time with a time zone, e.g. 2027-01-31T23:59:59Z"))
            expires_at = None
        elif expires_at <= timezone.now():
            errors.append(detail("expirationDate", "is in the past"))
            expires_at = None

    original = None
    if data.get("originalMessageId") is not None:
        try:
            original_id = uuid.UUID(str(data["originalMessageId"]))
            original = Message.objects.filter(id=original_id, sender_organisation=organisation).first()
        except ValueError:
            original = None
        if original is None:
            errors.append(detail("originalMessageId", "no message of this organisation has this id", "not_found"))

    attention = data.get("forTheAttentionOf")
    if attention is not None and not isinstance(attention, dict):
        errors.append(detail("forTheAttentionOf", "must be an object"))
    payment = _payment_data(data.get("paymentData"), errors)
    business = _business_data(data.get("businessDataList"), errors)

    attachments, main_count = _attachments(data.get("attachments"), parts, oversized, errors)
    if body_main and not body:
        errors.append(detail("bodyMainContent", "true but there is no bodyContent"))
    main_count += 1 if (body_main and body) else 0
    if main_count != 1:
        errors.append(
            detail(
                "mainContent",
                f"exactly one main content is needed (bodyMainContent or one attachment's mainContent); got {main_count}",
            )
        )

    if errors:
        status = 413 if any(d["kind"] == "too_large" for d in errors) else 400
        raise PublicationError(errors, status=status)
    return NewMessage(
        sender_application=application,
        message_type=message_type,
        recipient_type=recipient[0],
        recipient_id=recipient[1],
        subject=subject,
        body=body,
        body_main_content=body_main,
        payment_data=payment,
        business_data=business,
        registered_mail=registered,
        reply_authorized=reply_authorized,
        for_the_attention_of=attention,
        original_message=original,
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        attachments=attachments,
        citizen=citizen,
    )


def _attachments(value, parts: dict[str, ReceivedPart], oversized, errors: list[dict]):
    limit = settings.EBOX_MAX_ATTACHMENT_BYTES
    for name in oversized:
        errors.append(detail(name, f"larger than the limit of {limit} bytes", "too_large"))
    for name in parts:
        if name not in PART_NAMES:
            errors.append(detail(name, f"unexpected part: files go in {', '.join(PART_NAMES)}"))
    if value is None:
        value = []
    if not isinstance(value, list):
        errors.append(detail("attachments", "must be an array"))
        return [], 0
    if len(value) > settings.EBOX_MAX_ATTACHMENTS:
        errors.append(detail("attachments", f"at most {settings.EBOX_MAX_ATTACHMENTS} attachments"))
        return [], 0
    uploads: list[AttachmentUpload] = []
    used: set[str] = set()
    main_count = 0
    for i, item in enumerate(value):
        ref = f"attachments[{i}]"
        if not isinstance(item, dict):
            errors.append(detail(ref, "must be an object"))
            continue
        main = item.get("mainContent")
        if not isinstance(main, bool):
            errors.append(detail(f"{ref}.mainContent", "missing or not true/false", "missing"))
            main = False
        main_count += main
        signed = item.get("attachmentSigned", False)
        if not isinstance(signed, bool):
            errors.append(detail(f"{ref}.attachmentSigned", "must be true or false"))
        title = _translated(
            item.get("attachmentTitle"), f"{ref}.attachmentTitle", errors, required=False, max_length=MAX_SUBJECT
        )
        part_name = item.get("httpPartName")
        if not isinstance(part_name, str) or not part_name:
            errors.append(detail(f"{ref}.httpPartName", "missing", "missing"))
            continue
        if part_name in used:
            errors.append(detail(f"{ref}.httpPartName", f"part {part_name} is already used by another attachment"))
            continue
        used.add(part_name)
        if part_name in oversized:
            continue
        part = parts.get(part_name)
        if part is None:
            errors.append(detail(f"{ref}.httpPartName", f"no part named {part_name} was received", "not_found"))
            continue
        upload = _check_part(part, part_name, item.get("digest"), ref, errors)
        if upload is not None:
            upload.main_content = main
            upload.signed = bool(signed) if isinstance(signed, bool) else False
            upload.title = title or {}
            uploads.append(upload)
    for name in parts:
        if name in PART_NAMES and name not in used and name not in oversized:
            errors.append(detail(name, "part received but no attachment refers to it (httpPartName)"))
    return uploads, main_count


def _check_part(part: ReceivedPart, part_name: str, digest, ref: str, errors: list[dict]) -> AttachmentUpload | None:
    if part.size > settings.EBOX_MAX_ATTACHMENT_BYTES:
        errors.append(
            detail(part_name, f"larger than the limit of {settings.EBOX_MAX_ATTACHMENT_BYTES} bytes", "too_large")
        )
        return None
    if part.size == 0:
        errors.append(detail(part_name, "empty file"))
        return None
    part.file.seek(0)
    detected = detect_media_type(part.file.read(64))
    part.file.seek(0)
    if detected is None:
        errors.append(detail(part_name, "content is not PDF, PNG, JPEG or XML", "unsupported_media_type"))
        return None
    extensions, synonyms = MEDIA_TYPES[detected]
    declared = (part.content_type or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared not in synonyms:
        errors.append(detail(part_name, f"declared as {declared} but the content is {detected}", "media_type_mismatch"))
        return None
    file_name = (part.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if not file_name:
        errors.append(detail(part_name, "file name missing (Content-Disposition filename)", "missing"))
        return None
    if "." in file_name and not file_name.lower().endswith(extensions):
        errors.append(
            detail(part_name, f"file name {file_name} does not match the content ({detected})", "media_type_mismatch")
        )
        return None
    if digest is not None:
        if (
            not isinstance(digest, dict)
            or digest.get("digestMethod") != "sha_256"
            or not isinstance(digest.get("digestValue"), str)
        ):
            errors.append(detail(f"{ref}.digest", 'must be {"digestMethod": "sha_256", "digestValue": "<base64url>"}'))
            return None
        given = digest["digestValue"].rstrip("=")
        if given.replace("+", "-").replace("/", "_") != _sha256_b64url(part.file):
            errors.append(
                detail(f"{ref}.digest.digestValue", f"does not match the SHA-256 of the bytes of {part_name}")
            )
            return None
    return AttachmentUpload(file=part.file, file_name=file_name, media_type=detected)


def decode_document(value, ref: str, errors: list[dict]) -> ReceivedPart | None:
    """A base64 document of the batch extension → ReceivedPart (in memory: batch items are small)."""
    if not isinstance(value, dict):
        errors.append(detail(ref, 'must be an object {"fileName", "mediaType", "content" (base64)}'))
        return None
    content = value.get("content")
    if not isinstance(content, str):
        errors.append(detail(f"{ref}.content", "missing (base64)", "missing"))
        return None
    if len(content) * 3 // 4 > settings.EBOX_MAX_ATTACHMENT_BYTES:
        errors.append(detail(ref, f"larger than the limit of {settings.EBOX_MAX_ATTACHMENT_BYTES} bytes", "too_large"))
        return None
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(content + "=" * (-len(content) % 4))
        except (binascii.Error, ValueError):
            errors.append(detail(f"{ref}.content", "not valid base64"))
            return None
    return ReceivedPart(
        file=io.BytesIO(raw),
        name=str(value.get("fileName") or ""),
        content_type=str(value.get("mediaType") or ""),
        size=len(raw),
    )
