"""Platform seals: Ed25519 signatures over an RFC 8785 canonical form of a message.

The canonical form (`seal_document`) binds the message id, sender organisation and
application, recipient, receipt time, expiration, and SHA-256 digests of the plaintext
subject and body per language, of payment and business data, and of every attachment.
Anyone can verify a seal offline with the public keys at `/.well-known/jwks.json`.

Keys: provided in `EBOX_SEAL_KEYS` / `EBOX_SEAL_KEYS_FILE` ("<kid>:<base64 raw 32-byte private
key>", the first is current; `seal_key_line` makes one), or `<EBOX_SEAL_KEYS_DIR>/<kid>.pem`
(PKCS#8) with the current kid in `current`. Development generates a folder key on first use; `rotate_keys --seal` adds a new current one and
keeps the old ones published so earlier seals still verify.
"""

from __future__ import annotations

import base64
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

SEAL_VERSION = "ebox-seal-1"


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


def seal_key_line() -> str:
    """A fresh "<kid>:<base64 key>" line for an operator to put first in EBOX_SEAL_KEYS / EBOX_SEAL_KEYS_FILE."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return f"seal-{secrets.token_hex(4)}:{base64.b64encode(raw).decode()}"


def _provided_seal_keys(text: str) -> tuple[str, dict[str, Ed25519PrivateKey]]:
    """Parse provided keys ("kid:base64", comma- or line-separated, the first current)."""
    pairs = []
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        kid, _, encoded = item.partition(":")
        raw = base64.b64decode(encoded)
        if len(raw) != 32:
            raise ValueError(f"seal key {kid!r} must be 32 bytes (Ed25519 private key)")
        pairs.append((kid.strip(), Ed25519PrivateKey.from_private_bytes(raw)))
    if not pairs:
        raise ValueError("EBOX_SEAL_KEYS holds no key")
    return pairs[0][0], dict(pairs)


@lru_cache(maxsize=1)
def load_seal_keys() -> tuple[str, dict[str, Ed25519PrivateKey]]:
    if settings.EBOX_SEAL_KEYS:
        return _provided_seal_keys(settings.EBOX_SEAL_KEYS)
    folder = _keys_dir()
    if not getattr(settings, "PRODUCTION", False):  # production never generates a key (ebox.settings)
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


def jwks() -> dict:
    _, keys = load_seal_keys()
    return {"keys": [public_jwk(kid, key.public_key()) for kid, key in sorted(keys.items())]}


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
) -> dict:
    """The document a seal signs. Digests, never content, so a seal can be shown to anyone."""

    def digests(texts: dict[str, str] | None) -> dict[str, str]:
        # Key order does not matter: `canonical` sorts keys.
        return {lang: hashlib.sha256(text.encode()).hexdigest() for lang, text in (texts or {}).items()}

    return {
        "version": SEAL_VERSION,
        "messageId": message_id,
        "senderOrganizationId": sender_organisation,
        "senderApplicationId": sender_application,
        "recipient": {"eboxType": recipient_type, "eboxIdValue": recipient_id},
        "receiptDate": received_at,
        "expirationDate": expires_at,
        "registeredMail": registered_mail,
        "subjectSha256": digests(subject),
        "bodySha256": digests(body),
        "paymentDataSha256": sha256_hex(rfc8785.dumps(payment_data)) if payment_data else None,
        "businessDataSha256": sha256_hex(rfc8785.dumps(business_data)) if business_data else None,
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
