#!/usr/bin/env python3
"""Verify an eBox evidence offline. Needs only Python 3 and `cryptography`; no eBox code, no network.

    python verify_evidence.py evidence.json --jwks jwks.json [attachment files…]

Checks, in order: the platform's signature over the evidence, the message's seal (both
Ed25519 over the RFC 8785 canonical JSON, with keys from the JWKS, by `kid`), that each key
was valid when it signed (the JWK's `ebox_valid_from` / `ebox_valid_until` against the
evidence's `issuedAt` and the `sealed` event), that the seal's version is one this script
knows, that the evidence and the seal speak of the same message, that the event times are in
order (and, for evidence of reading, that the message is registered mail and was read),
the recipient's sealed acknowledgement or refusal when there is one (required for evidence of
receipt), and that each file given is one of the sealed attachments (SHA-256 and size). docs/trust.md
specifies every member. Prints VALID or INVALID with the reason; exit code 0
when valid, 1 when not.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Invalid(Exception):
    """The evidence does not verify; the message says why."""


def canonical(value: object) -> bytes:
    """RFC 8785 (JCS) for the values evidence holds: objects, arrays, strings, integers, booleans, null."""

    def encode(v: object) -> str:
        if v is None or isinstance(v, bool):
            return json.dumps(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            raise Invalid("evidence contains a floating-point number, which eBox never issues")
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ",".join(encode(i) for i in v) + "]"
        if isinstance(v, dict):
            # Keys sorted by UTF-16 code units, as RFC 8785 says.
            items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
            return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + encode(i) for k, i in items) + "}"
        raise Invalid(f"unexpected JSON value {v!r}")

    return encode(value).encode("utf-8")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


SEAL_VERSIONS = ("ebox-seal-1", "ebox-seal-2")


def load_jwks(data: dict) -> dict[str, tuple[Ed25519PublicKey, str | None, str | None]]:
    """(public key, valid from, valid until) by kid; the times are None when the JWK does not give them."""
    keys = {}
    for jwk in data.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            key = Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
            keys[jwk["kid"]] = (key, jwk.get("ebox_valid_from"), jwk.get("ebox_valid_until"))
    return keys


def _check_signature(keys: dict, kid: str, signature: str, document: object, what: str, at: str | None) -> None:
    """Check one signature, and that its key was valid at `at` (times in one fixed UTC form compare as text)."""
    if kid not in keys:
        raise Invalid(f"{what}: key {kid!r} is not in the JWKS")
    key, valid_from, valid_until = keys[kid]
    if at is None:
        raise Invalid(f"{what}: no time to check the key's validity against")
    if (valid_from and at < valid_from) or (valid_until and at >= valid_until):
        raise Invalid(f"{what}: key {kid!r} was not valid at {at} (validity {valid_from} to {valid_until or 'now'})")
    try:
        key.verify(_b64url_decode(signature), canonical(document))
    except (InvalidSignature, ValueError):
        raise Invalid(f"{what}: the signature does not match (the document was altered or signed by another key)")


def verify(evidence: dict, jwks: dict, files: list[tuple[str, bytes]] = ()) -> list[str]:
    """Raise Invalid with the reason, or return what was established."""
    try:
        payload = evidence["evidence"]
        signature = evidence["signature"]
        seal = payload["seal"]
        document = seal["document"]
    except (KeyError, TypeError):
        raise Invalid("not an eBox evidence (missing evidence, signature or seal)")
    keys = load_jwks(jwks)
    events = {e["kind"]: e["at"] for e in payload.get("events", [])}
    _check_signature(
        keys, signature.get("kid"), signature.get("value", ""), payload, "evidence signature", payload.get("issuedAt")
    )
    _check_signature(keys, seal.get("kid"), seal.get("signature", ""), document, "message seal", events.get("sealed"))
    if document.get("version") not in SEAL_VERSIONS:
        raise Invalid(f"unknown seal version {document.get('version')!r}")
    if document.get("messageId") != payload.get("messageId"):
        raise Invalid("the seal is for another message than the evidence")
    if "accepted" not in events or "sealed" not in events:
        raise Invalid("the evidence lacks the accepted and sealed events")
    if document.get("receiptDate") != events["accepted"]:
        raise Invalid("the acceptance time differs from the sealed receipt date")
    if not events["accepted"] <= events["sealed"]:
        raise Invalid("sealed before accepted")
    notes = [
        f"message {payload['messageId']} from organisation {document['senderOrganizationId']} "
        f"(application {document['senderApplicationId']}) to {document['recipient']['eboxType']} "
        f"{document['recipient']['eboxIdValue']}",
        f"deposited {events['accepted']}, sealed {events['sealed']} (seal key {seal['kid']}, {document['version']})",
    ]
    if document["version"] != "ebox-seal-1":
        notes.append(
            f"message type {document['messageTypeId']}, replies {'allowed' if document['replyAuthorized'] else 'not allowed'}"
        )
    if payload.get("kind") == "reading":
        if not document.get("registeredMail"):
            raise Invalid("evidence of reading for a message that is not registered mail")
        if "read" not in events:
            raise Invalid("evidence of reading without a read event")
        if not events["sealed"] <= events["read"]:
            raise Invalid("read before it was sealed")
        notes.append(f"first opened by the recipient {events['read']}")
    notes += _check_acknowledgement(payload, document, seal, events, keys)
    sealed = {(a["sha256"], a["size"]): a for a in document.get("attachments", [])}
    for name, data in files:
        digest = hashlib.sha256(data).hexdigest()
        attachment = sealed.get((digest, len(data)))
        if attachment is None:
            raise Invalid(f"file {name} is not an attachment of this message (SHA-256 {digest})")
        notes.append(f"file {name} is sealed attachment {attachment['attachmentId']}")
    return notes


def _check_acknowledgement(payload: dict, document: dict, seal: dict, events: dict, keys: dict) -> list[str]:
    """The recipient's sealed acknowledgement or refusal of a registered letter, when the evidence has one."""
    answer = payload.get("acknowledgement")
    if answer is None:
        if payload.get("kind") == "receipt":
            raise Invalid("evidence of receipt without an acknowledgement")
        return []
    signed = answer["document"]
    _check_signature(keys, answer.get("kid"), answer.get("signature", ""), signed, "acknowledgement", signed.get("at"))
    if signed.get("messageId") != payload.get("messageId"):
        raise Invalid("the acknowledgement is for another message")
    if signed.get("messageSealSha256") != hashlib.sha256(_b64url_decode(seal.get("signature", ""))).hexdigest():
        raise Invalid("the acknowledgement names another seal of the message")
    if signed.get("recipient") != document.get("recipient"):
        raise Invalid("the acknowledgement was not given by the sealed recipient")
    if not document.get("registeredMail"):
        raise Invalid("an acknowledgement for a message that is not registered mail")
    if not events["sealed"] <= signed.get("at", ""):
        raise Invalid("acknowledged before it was sealed")
    decision = signed.get("decision")
    if payload.get("kind") == "receipt" and events.get(decision) != signed.get("at"):
        raise Invalid("the receipt event differs from the sealed acknowledgement")
    return [f"receipt {decision} by the recipient {signed.get('at')} (via {signed.get('channel')})"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an eBox evidence offline.")
    parser.add_argument("evidence", type=Path)
    parser.add_argument("--jwks", type=Path, required=True, help="the platform's JWKS (/.well-known/jwks.json)")
    parser.add_argument("files", type=Path, nargs="*", help="attachment files to check against the seal")
    args = parser.parse_intermixed_args(argv)
    try:
        evidence = json.loads(args.evidence.read_text(encoding="utf-8"))
        jwks = json.loads(args.jwks.read_text(encoding="utf-8"))
        files = [(str(p), p.read_bytes()) for p in args.files]
        notes = verify(evidence, jwks, files)
    except Invalid as exc:
        print(f"INVALID: {exc}")
        return 1
    except (OSError, ValueError) as exc:
        print(f"INVALID: cannot read the input: {exc}")
        return 1
    except (KeyError, TypeError, AttributeError) as exc:
        print(f"INVALID: malformed evidence ({exc!r})")
        return 1
    print("VALID")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
