"""Platform seals: Ed25519 signatures over an RFC 8785 canonical form of a message.

The canonical form (`seal_document`) binds the message id, sender organisation and
application, recipient, receipt time, expiration, and SHA-256 digests of the plaintext
subject and body per language, of payment and business data, and of every attachment.
Version `ebox-seal-2` (`SEAL_VERSION`) also binds everything else a reader is shown: the
message type, whether replies are allowed, whether the body is the main content, the
original message, the "for the attention of" data, and per attachment its main-content and
signed flags and digests of its file name and title. Seals made before it (`ebox-seal-1`)
still verify with the rules they were made under. docs/trust.md specifies
every member, so anyone can verify a seal offline with the public keys at
`/.well-known/jwks.json`.

Keys: `<EBOX_SEAL_KEYS_DIR>/<kid>.pem` (PKCS#8) and `keys.json`, the list of kids with the
time each starts signing (`validFrom`). The signer is the newest key whose time has come.
`rotate_keys --seal` adds a key that is published in the JWKS at once but signs only after
EBOX_JWKS_MAX_AGE_SECONDS (the JWKS cache lifetime), so no verifier holding a cached JWKS meets a
seal by a key it has not seen; earlier keys stay published so earlier seals still verify.
Every process re-reads `keys.json` when it changes (checked on each use).
In production the keys are provided instead, in `EBOX_SEAL_KEYS` / `EBOX_SEAL_KEYS_FILE`
("<kid>:<base64 raw 32-byte private key>", the first is current; `seal_key_line` makes one),
and are never generated; a new provided key signs from the restart that brings it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from ebox.canonical import canonical
from ebox.devkeys import ensure_created, folder_lock, write_private

SEAL_VERSION = "ebox-seal-2"
SEAL_VERSION_1 = "ebox-seal-1"
# Newest first: a stored seal is checked against the document of each version in turn (the
# signature does not say which it signs; a document of another version never matches it).
SEAL_VERSIONS = (SEAL_VERSION, SEAL_VERSION_1)
MANIFEST = "keys.json"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keys_dir() -> Path:
    return Path(settings.EBOX_SEAL_KEYS_DIR)


def _manifest() -> Path:
    return _keys_dir() / MANIFEST


@dataclass(frozen=True)
class SealKey:
    kid: str
    private_key: Ed25519PrivateKey
    valid_from: dt.datetime
    valid_until: dt.datetime | None  # when the next key took over (it stays published to verify)


@dataclass(frozen=True)
class SealKeyring:
    keys: tuple[SealKey, ...]  # oldest first, by valid_from

    def signing_key(self, now: dt.datetime | None = None) -> SealKey:
        """The newest key whose validity has begun (a key announced ahead waits in the JWKS)."""
        now = now or dt.datetime.now(dt.UTC)
        started = [key for key in self.keys if key.valid_from <= now]
        if not started:
            raise RuntimeError("no seal key is valid yet")
        return started[-1]

    def by_kid(self) -> dict[str, Ed25519PrivateKey]:
        return {key.kid: key.private_key for key in self.keys}


def _write_manifest(entries: list[dict]) -> None:
    write_private(_manifest(), json.dumps({"keys": entries}, indent=2).encode())


def _read_manifest() -> list[dict]:
    return json.loads(_manifest().read_text())["keys"]


def _new_key_file(folder: Path) -> str:
    kid = "seal-" + secrets.token_hex(4)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(folder / f"{kid}.pem", pem)
    return kid


def _create_manifest() -> None:
    """First use: adopt the keys of a folder from before the manifest (`current` named the signer), or make one."""
    folder = _keys_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    pems = sorted(folder.glob("*.pem"), key=lambda p: p.stat().st_mtime)
    current = (folder / "current").read_text().strip() if (folder / "current").exists() else None
    if not pems:
        if getattr(settings, "PRODUCTION", False):  # production never generates a key (ebox.settings)
            raise RuntimeError(f"no seal key in {folder}: provide EBOX_SEAL_KEYS or keys in EBOX_SEAL_KEYS_DIR")
        pems = [folder / f"{_new_key_file(folder)}.pem"]
    ordered = [p for p in pems if p.stem != current] + [p for p in pems if p.stem == current]
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    # Earlier keys keep their order; their exact periods are unknown, so they start at a fixed past date.
    entries = [
        {"kid": p.stem, "validFrom": (epoch + dt.timedelta(seconds=i)).isoformat()} for i, p in enumerate(ordered)
    ]
    _write_manifest(entries)


def add_seal_key(valid_from: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """Add a seal key, published at once, signing from `valid_from`; return (kid, valid_from).

    By default it signs only after EBOX_JWKS_MAX_AGE_SECONDS, the time a verifier may keep an
    earlier copy of /.well-known/jwks.json: every copy in use lists the key before any seal uses it.
    """
    folder = _keys_dir()
    ensure_created(_manifest(), _create_manifest)
    if valid_from is None:
        valid_from = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.EBOX_JWKS_MAX_AGE_SECONDS)
    with folder_lock(folder):
        kid = _new_key_file(folder)  # before the manifest names it, so a reader always finds it
        entries = _read_manifest()
        entries.append({"kid": kid, "validFrom": valid_from.astimezone(dt.UTC).isoformat()})
        _write_manifest(entries)
    return kid, valid_from


def _read_keyring() -> SealKeyring:
    folder = _keys_dir()
    entries = sorted(
        ((dt.datetime.fromisoformat(e["validFrom"]), e["kid"]) for e in _read_manifest()), key=lambda e: e[0]
    )
    keys = []
    for i, (valid_from, kid) in enumerate(entries):
        private_key = serialization.load_pem_private_key((folder / f"{kid}.pem").read_bytes(), password=None)
        valid_until = entries[i + 1][0] if i + 1 < len(entries) else None
        keys.append(SealKey(kid, private_key, valid_from, valid_until))
    return SealKeyring(tuple(keys))


class _SealKeyCache:
    """The seal keys as the manifest says now: every process checks the manifest on each use (one
    `stat`) and re-reads it when it changed, so no process signs or publishes from a stale list."""

    def __init__(self) -> None:
        self._state: tuple[object, SealKeyring] | None = None

    def __call__(self) -> SealKeyring:
        if settings.EBOX_SEAL_KEYS:  # provided (production): fixed for the life of the process
            if self._state is None:
                self._state = (None, _provided_keyring(settings.EBOX_SEAL_KEYS))
            return self._state[1]
        manifest = _manifest()
        try:
            info = os.stat(manifest)
        except FileNotFoundError:
            ensure_created(manifest, _create_manifest)
            info = os.stat(manifest)
        version = (info.st_ino, info.st_mtime_ns, info.st_size)
        state = self._state
        if state is None or state[0] != version:
            state = (version, _read_keyring())
            self._state = state
        return state[1]

    def cache_clear(self) -> None:
        self._state = None


seal_keyring = _SealKeyCache()


def load_seal_keys() -> tuple[str, dict[str, Ed25519PrivateKey]]:
    """(kid of the key that signs now, every private key by kid)."""
    keyring = seal_keyring()
    return keyring.signing_key().kid, keyring.by_kid()


def seal_key_line() -> str:
    """A fresh "<kid>:<base64 key>" line for an operator to put first in EBOX_SEAL_KEYS / EBOX_SEAL_KEYS_FILE."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return f"seal-{secrets.token_hex(4)}:{base64.b64encode(raw).decode()}"


def _provided_keyring(text: str) -> SealKeyring:
    """Provided keys ("kid:base64", comma- or line-separated, the first current) as a keyring.

    Their periods are not known from the text: earlier keys are ordered before the current one
    from a fixed past date, so the current one signs and all are published."""
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
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    ordered = [*pairs[1:][::-1], pairs[0]]  # oldest first, the current (first given) last
    starts = [epoch + dt.timedelta(seconds=i) for i in range(len(ordered))]
    return SealKeyring(
        tuple(
            SealKey(kid, key, starts[i], starts[i + 1] if i + 1 < len(ordered) else None)
            for i, (kid, key) in enumerate(ordered)
        )
    )


def current_signing_key() -> tuple[str, Ed25519PrivateKey]:
    key = seal_keyring().signing_key()
    return key.kid, key.private_key


def sign(document: dict) -> tuple[str, bytes]:
    """Sign the canonical form of `document` with the current seal key: (kid, signature)."""
    current, key = current_signing_key()
    return current, key.sign(canonical(document))


def verify(document: dict, kid: str, signature: bytes) -> bool:
    key = seal_keyring().by_kid().get(kid)
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


def _iso(value: dt.datetime | None) -> str | None:
    # The form seals and evidence give times in (UTC, microseconds, `Z`), so texts compare in order.
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z") if value else None


def jwks() -> dict:
    """Every seal key, oldest first: earlier ones (to verify old seals), the current one and any
    announced ahead, each with its signing period (`ebox_valid_until` null for the newest)."""
    keys = []
    for key in seal_keyring().keys:
        jwk = public_jwk(key.kid, key.private_key.public_key())
        jwk["ebox_valid_from"] = _iso(key.valid_from)
        jwk["ebox_valid_until"] = _iso(key.valid_until)
        keys.append(jwk)
    return {"keys": keys}


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
