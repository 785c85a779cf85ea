"""Acknowledgement of receipt of registered letters: the recipient acknowledges or refuses, sealed.

A registered letter asks its recipient for an explicit answer, on the message page or through
a partner app (`POST /api/v2/ebox/messages/{id}/acknowledgement`). The answer is final (the
first one stands), signed by the platform like a seal (Ed25519 over RFC 8785 JSON: who, when,
from which channel, and the SHA-256 of the message's seal), recorded as a message event, and
shown in the evidence (`messages.evidence`, kind `receipt`) and to the sender
(`searchMessageStatus`' `receiptStatus`). Opening a letter, by the portal or a partner app,
is not an acknowledgement: it stays "opened" until the recipient answers.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from messages import signing
from messages.models import Message, MessageEvent, ReceiptAcknowledgement
from messages.services.reading import sealed_timestamp
from senders.callbacks import outbox as callback_outbox

ACKNOWLEDGEMENT_VERSION = "ebox-acknowledgement-1"
DECISIONS = tuple(ReceiptAcknowledgement.Decision.values)


class AcknowledgementRefused(Exception):
    """The message does not take an acknowledgement (not registered mail, not available) or was answered."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


def acknowledgement_document(message: Message, decision: str, at, channel: str) -> dict:
    """What the platform signs for an answer: digests and metadata, never content."""
    return {
        "version": ACKNOWLEDGEMENT_VERSION,
        "messageId": str(message.id),
        "messageSealSha256": hashlib.sha256(bytes(message.seal or b"")).hexdigest(),
        "recipient": {"eboxType": message.recipient_type, "eboxIdValue": message.recipient_id},
        "decision": decision,
        "at": sealed_timestamp(at),
        "channel": channel,
    }


def answer(message: Message, decision: str, *, channel: str) -> ReceiptAcknowledgement:
    """Record and seal the recipient's answer to a registered letter; the same answer again is a no-op.

    `channel` is "portal" or "partner:<client id>". Raises AcknowledgementRefused otherwise.
    """
    if decision not in DECISIONS:
        raise AcknowledgementRefused(f"decision must be one of {', '.join(DECISIONS)}", "INVALID_DATA")
    if not message.registered_mail:
        raise AcknowledgementRefused("only registered mail asks for an acknowledgement of receipt", "NOT_REGISTERED")
    if message.status != Message.Status.SEALED or not message.seal:
        raise AcknowledgementRefused("this message is not available", "NOT_AVAILABLE")
    existing = ReceiptAcknowledgement.objects.filter(message=message).first()
    if existing is not None:
        if existing.decision == decision:
            return existing
        raise AcknowledgementRefused(f"the recipient already answered: {existing.decision}", "ALREADY_ANSWERED")
    now = timezone.now()
    document = acknowledgement_document(message, decision, now, channel)
    kid, signature = signing.sign(document)
    try:
        with transaction.atomic():
            record = ReceiptAcknowledgement.objects.create(
                message=message,
                decision=decision,
                at=now,
                channel=channel,
                document=document,
                seal_key_id=kid,
                signature=signature,
            )
            MessageEvent.objects.create(
                message=message, kind=decision, at=now, actor=channel, detail={"acknowledgement": record.pk}
            )
            callback_outbox.record(decision, [message.pk], now)
    except IntegrityError:  # a concurrent answer won: the first one stands
        return answer(message, decision, channel=channel)
    return record


def verify(record: ReceiptAcknowledgement) -> bool:
    """Whether the stored answer still carries a valid platform signature."""
    return signing.verify(record.document, record.seal_key_id, bytes(record.signature))


def receipt_status(message: Message, acknowledgement: ReceiptAcknowledgement | None) -> str | None:
    """What the sender sees for a registered letter: pending, opened, acknowledged or refused."""
    if not message.registered_mail:
        return None
    if acknowledgement is not None:
        return acknowledgement.decision
    return "opened" if message.read_at else "pending"


def answers_for(messages: list[Message]) -> dict:
    """The answers given to these messages, by message id (one query)."""
    if not messages:
        return {}
    return {a.message_id: a for a in ReceiptAcknowledgement.objects.filter(message__in=messages)}
