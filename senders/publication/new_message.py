"""One publication checked whole: a `messageToPublish` and its parts → a NewMessage, or a
PublicationError listing every problem; `Context` is who publishes (and what it already looked up).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from citizens.models import Citizen
from ebox import db, safe_input
from messages.models import Message
from messages.services.publishing import NewMessage
from senders.models import MessageType, SenderApplication
from senders.publication.attachments import ReceivedPart, attachment_uploads
from senders.publication.fields import (
    MAX_IDEMPOTENCY_KEY,
    MAX_SUBJECT,
    MAX_TEXT,
    PublicationError,
    boolean,
    business_data,
    detail,
    paper_address,
    parse_recipient,
    payment_data,
    translated,
)


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
        data = safe_input.loads(raw)
    except safe_input.UnsafeInput as exc:
        raise PublicationError([detail("messageToPublish", str(exc))]) from None
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
    subject = translated(data.get("subject"), "subject", errors, required=True, max_length=MAX_SUBJECT)
    body = translated(data.get("bodyContent"), "bodyContent", errors, required=False, max_length=MAX_TEXT)
    body_main = boolean(data, "bodyMainContent", errors)
    registered = boolean(data, "registeredMail", errors)
    reply_authorized = boolean(data, "replyAuthorized", errors)

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
    payment = payment_data(data.get("paymentData"), errors)
    business = business_data(data.get("businessDataList"), errors)
    address = paper_address(data.get("paperAddress"), errors)

    attachments, main_count = attachment_uploads(data.get("attachments"), parts, oversized, errors)
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
        paper_address=address,
    )
