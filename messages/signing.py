"""Platform seals: Ed25519 signatures over an RFC 8785 canonical form of a message.

The canonical form (`seal_document`) binds the message id, sender organisation and
application, recipient, receipt time, expiration, and SHA-256 digests of the plaintext
subject and body per language, of payment and business data, and of every attachment.
Version `ebox-seal-2` (`SEAL_VERSION`) also binds everything else a reader is shown: the
message type, whether replies are allowed, whether the body is the main content, the
original message, the "for the attention of" data, and per attachment its main-content and
signed flags and digests of its file name and title. Seals made before it (`ebox-seal-1`)
still verify with the rules they were made under. The README's "Trust" section specifies
every member, so anyone can verify a seal offline with the public keys at
`/.well-known/jwks.json`.

Keys: `<EBOX_SEAL_KEYS_DIR>/<kid>.pem` (PKCS#8), the current kid in `current`.
Development generates one on first use; `rotate_keys --seal` adds a new current one and
keeps the old ones published so earlier seals still verify.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from ebox.canonical import canonical
from ebox.devkeys import ensure_created, write_private

SEAL_VERSION = "ebox-seal-2"
SEAL_VERSION_1 = "ebox-seal-1"
# Newest first: a stored seal is checked against the document of each version in turn (the
# signature does not say which it signs; a document of another version never matches it).
SEAL_VERSIONS = (SEAL_VERSION, SEAL_VERSION_1)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keys_dir() -> Path:
    return Path(settings.EBOX_SEAL_KEYS_DIR)


def generate_seal_key(make_current: bool = True) -> str:
    folder = _keys_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = "seal-" + secrets.token_hex(4)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(folder / f"{kid}.pem", pem)
    if make_current:
        write_private(folder / "current", kid.encode())
    load_seal_keys.cache_clear()
    return kid


@lru_cache(maxsize=1)
def load_seal_keys() -> tuple[str, dict[str, Ed25519PrivateKey]]:
    folder = _keys_dir()
    ensure_created(folder / "current", generate_seal_key)
    current = (folder / "current").read_text().strip()
    keys = {p.stem: serialization.load_pem_private_key(p.read_bytes(), password=None) for p in folder.glob("*.pem")}
    return current, keys


def current_signing_key() -> tuple[str, Ed25519PrivateKey]:
    current, keys = load_seal_keys()
    return current, keys[current]


def sign(document: dict) -> tuple[str, bytes]:
    """Sign the canonical form of `document` with the current seal key: (kid, signature)."""
    current, key = current_signing_key()
    return current, key.sign(canonical(document))


def verify(document: dict, kid: str, signature: bytes) -> bool:
    _, keys = load_seal_keys()
    if kid not in keys:
        # Another process may have added a key since this one loaded them (rotate_keys --seal).
        load_seal_keys.cache_clear()
        _, keys = load_seal_keys()
    key = keys.get(kid)
    if key is None or not signature:
        return False
    try:
        key.public_key().verify(bytes(signature), canonical(document))
    except InvalidSignature:
        return False
    return True


def public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": _b64url(raw)}


def _utc(timestamp: float) -> str:
    # The form seals and evidence give times in: UTC, microseconds, `Z`.
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def key_validity() -> dict[str, tuple[str, str | None]]:
    """(valid from, valid until or None) of each seal key, as `_utc` text.

    A key is valid from its creation (the modification time of its PEM file) until the next
    key created after it, which replaced it as the signing key; the current key has no end.
    Seals and evidence made by a key carry times inside its period.
    """
    current, keys = load_seal_keys()
    folder = _keys_dir()
    created = {}
    for kid in keys:
        try:
            created[kid] = (folder / f"{kid}.pem").stat().st_mtime
        except OSError:  # a key not loaded from a file: its period is unknown
            continue
    order = sorted(created, key=lambda kid: created[kid])
    validity = {}
    for index, kid in enumerate(order):
        successor = order[index + 1] if index + 1 < len(order) else None
        until = None if kid == current or successor is None else _utc(created[successor])
        validity[kid] = (_utc(created[kid]), until)
    return validity


def jwks() -> dict:
    """The JWK Set of every seal key, each with `ebox_valid_from` and `ebox_valid_until` (null: current)."""
    _, keys = load_seal_keys()
    validity = key_validity()
    entries = []
    for kid, key in sorted(keys.items()):
        jwk = public_jwk(kid, key.public_key())
        if kid in validity:
            jwk["ebox_valid_from"], jwk["ebox_valid_until"] = validity[kid]
        entries.append(jwk)
    return {"keys": entries}


def text_digests(texts: dict[str, str] | None) -> dict[str, str]:
    """SHA-256 (hex) of the UTF-8 bytes of each language's text. Key order does not matter: `canonical` sorts keys."""
    return {lang: sha256_hex(text.encode()) for lang, text in (texts or {}).items()}


def json_digest(value: object | None) -> str | None:
    """SHA-256 (hex) of the RFC 8785 form of a JSON value; None when the value is absent or empty."""
    return sha256_hex(rfc8785.dumps(value)) if value else None


def seal_document(
    *,
    message_id: str,
    sender_organisation: str,
    sender_application: str,
    recipient_type: str,
    recipient_id: str,
    received_at: str,
    expires_at: str,
    registered_mail: bool,
    subject: dict[str, str],
    body: dict[str, str] | None,
    payment_data: object | None,
    business_data: object | None,
    attachments: list[dict],
    message_type_id: str = "",
    reply_authorized: bool = False,
    body_main_content: bool = False,
    original_message_id: str | None = None,
    for_the_attention_of: object | None = None,
    version: str = SEAL_VERSION,
) -> dict:
    """The document a seal signs. Digests, never content, so a seal can be shown to anyone.

    Each attachment is a dict with attachmentId, sha256, mediaType and size; for version 2 also
    mainContent, signed, fileName and title (the plaintext, of which only digests are kept).
    """
    document = {
        "version": version,
        "messageId": message_id,
        "senderOrganizationId": sender_organisation,
        "senderApplicationId": sender_application,
        "recipient": {"eboxType": recipient_type, "eboxIdValue": recipient_id},
        "receiptDate": received_at,
        "expirationDate": expires_at,
        "registeredMail": registered_mail,
        "subjectSha256": text_digests(subject),
        "bodySha256": text_digests(body),
        "paymentDataSha256": json_digest(payment_data),
        "businessDataSha256": json_digest(business_data),
        "attachments": [
            {
                "attachmentId": a["attachmentId"],
                "sha256": a["sha256"],
                "mediaType": a["mediaType"],
                "size": int(a["size"]),
            }
            for a in attachments
        ],
    }
    if version == SEAL_VERSION_1:
        return document
    if version != SEAL_VERSION:
        raise ValueError(f"unknown seal version {version!r}")
    document.update(
        {
            "messageTypeId": message_type_id,
            "replyAuthorized": bool(reply_authorized),
            "bodyMainContent": bool(body_main_content),
            "originalMessageId": original_message_id,
            "forTheAttentionOfSha256": json_digest(for_the_attention_of),
        }
    )
    for entry, a in zip(document["attachments"], attachments, strict=True):
        file_name = a.get("fileName")
        entry.update(
            {
                "mainContent": bool(a["mainContent"]),
                "signed": bool(a["signed"]),
                "fileNameSha256": sha256_hex(file_name.encode()) if file_name else None,
                "titleSha256": text_digests(a.get("title")),
            }
        )
    return document
