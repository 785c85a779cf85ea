"""Signed evidence of deposit and of reading, for the sender (API extension) and the citizen.

An evidence is a JSON document `{"evidence": {...}, "signature": {"alg", "kid", "value"}}`:
the platform's Ed25519 signature (base64url) over the RFC 8785 canonical form of
`evidence`, under a seal key published at `/.well-known/jwks.json`. `evidence` holds the
message's seal (its canonical document, key id and signature: sender, recipient, times,
SHA-256 digests of the content and of every attachment) and the times of its events:
`accepted` and `sealed` (deposit), and for registered mail `read`, the first opening of
the main content, and `receipt`, the recipient's sealed acknowledgement or refusal
(`messages.services.acknowledgement`; present in every kind once given, under
`acknowledgement`). `messages/verify_evidence.py` checks one offline with only `cryptography`.

Once a message's content is crypto-shredded after retention, its seal document kept at
shredding time (`RetainedSeal`, digests only) stands in for the decrypted content: the
evidence still verifies without the plaintext.

The message is verified (decrypted, digests, seal and destination checked) before any
evidence is issued; a failure records an incident and no evidence is given. The seal's
document is the one its signature verified against (of the version the message was sealed under).
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.utils import timezone

from messages import signing
from messages.models import Message, ReceiptAcknowledgement, RetainedSeal
from messages.services import incidents, reading

EVIDENCE_VERSION = "ebox-evidence-1"
KINDS = ("deposit", "reading", "receipt")


class EvidenceUnavailable(Exception):
    """No such evidence (yet): the message is not sealed, not registered mail, or not opened."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode()


def build_evidence(message: Message, kind: str = "deposit", reader=None) -> dict:
    """Issue the signed evidence of `kind` ("deposit", "reading" or "receipt") for a message.

    `reader`: the citizen asking from their mailbox (None for the sender: the row's citizen).

    Raises EvidenceUnavailable, or incidents.IntegrityFailure when the message fails its checks.
    """
    if kind not in KINDS:
        raise EvidenceUnavailable(f"unknown evidence kind {kind!r}: use one of {', '.join(KINDS)}")
    if message.sealed_at is None or not message.seal:
        raise EvidenceUnavailable("the message is not sealed yet")
    if kind == "reading":
        if not message.registered_mail:
            raise EvidenceUnavailable("evidence of reading exists only for registered mail")
        if message.read_at is None:
            raise EvidenceUnavailable("the recipient has not opened the message yet")
    acknowledgement = ReceiptAcknowledgement.objects.filter(message=message).first()
    if kind == "receipt":
        if not message.registered_mail:
            raise EvidenceUnavailable("evidence of receipt exists only for registered mail")
        if acknowledgement is None:
            raise EvidenceUnavailable("the recipient has not acknowledged or refused the message yet")
    document = _seal_document(message, reader)
    events = [
        {"kind": "accepted", "at": reading.sealed_timestamp(message.received_at)},
        {"kind": "sealed", "at": reading.sealed_timestamp(message.sealed_at)},
    ]
    if kind == "reading":
        events.append({"kind": "read", "at": reading.sealed_timestamp(message.read_at)})
    if kind == "receipt":
        events.append({"kind": acknowledgement.decision, "at": reading.sealed_timestamp(acknowledgement.at)})
    payload = {
        "version": EVIDENCE_VERSION,
        "kind": kind,
        "issuer": settings.PUBLIC_URL,
        "issuedAt": reading.sealed_timestamp(timezone.now()),
        "messageId": str(message.id),
        "events": events,
        "seal": {"alg": "EdDSA", "kid": message.seal_key_id, "signature": _b64url(message.seal), "document": document},
    }
    if acknowledgement is not None:
        payload["acknowledgement"] = {
            "alg": "EdDSA",
            "kid": acknowledgement.seal_key_id,
            "signature": _b64url(acknowledgement.signature),
            "document": acknowledgement.document,
        }
    kid, signature = signing.sign(payload)
    return {"evidence": payload, "signature": {"alg": "EdDSA", "kid": kid, "value": _b64url(signature)}}


def _seal_document(message: Message, reader=None) -> dict:
    """The message's seal document, its destination checked: rebuilt from the verified content,
    or the one kept at shredding (the content is gone, the signed digests stay)."""
    retained = RetainedSeal.objects.filter(message=message).first()
    if retained is None:
        return reading.verified_seal(message, detected_by="evidence", reader=reader)[1]
    if not signing.verify(retained.document, message.seal_key_id, bytes(message.seal)):
        incidents.record_incident(message, "evidence", "retained seal document does not match the seal")
        raise incidents.IntegrityFailure("retained seal document does not match the seal")
    if problem := reading.destination_problem(message, reader):
        incidents.record_incident(message, "evidence", problem)
        raise incidents.IntegrityFailure(problem)
    return retained.document
