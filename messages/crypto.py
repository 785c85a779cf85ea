"""Envelope encryption at rest: AES-256-GCM under a per-content data key, wrapped by a KEK.

- A key-encryption key (KEK) has an id. The current one wraps new data keys; older ones
  stay readable until `manage.py rotate_keys` has re-wrapped every data key. Every process
  re-reads the keys when their source changes (checked on each use, see `_KeyringCache`), so
  a rotation takes effect everywhere at once.
  Configuration: `EBOX_KEK` ("id:base64key", several separated by commas, the first is
  current) or `EBOX_KEK_FILE` (same format, one per line); in development a key is
  generated into `<EBOX_KEYS_DIR>/kek/`.
- Every ciphertext carries associated data naming its owner (content or reply id) and
  field, so a blob moved to another message or field fails to decrypt.
- Attachments are encrypted in 64 KiB chunks (a STREAM-like construction: per-chunk
  nonce from a random prefix and a counter, the last chunk flagged), so uploads are
  never held whole in memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from ebox.devkeys import ensure_created, write_private

NONCE_BYTES = 12
CHUNK_BYTES = 64 * 1024
_BLOB_MAGIC = b"EBX1"


class DecryptionError(Exception):
    """Ciphertext, key or associated data do not match: tampering or a swapped blob."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]

    def key(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise DecryptionError(f"unknown key-encryption key {kek_id!r}") from None


def _parse_keys(lines: list[str]) -> list[tuple[str, bytes]]:
    keys = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kek_id, _, encoded = line.partition(":")
        raw = base64.b64decode(encoded)
        if len(raw) != 32:
            raise ValueError(f"key-encryption key {kek_id!r} must be 32 bytes (AES-256)")
        keys.append((kek_id.strip(), raw))
    return keys


def _development_kek_dir() -> Path:
    return Path(settings.EBOX_KEYS_DIR) / "kek"


def generate_development_kek(make_current: bool = True) -> str:
    """Create a new KEK in the development key folder; return its id.

    The key file is written before `current` names it, so a process that sees the new
    `current` always finds its key."""
    folder = _development_kek_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    kek_id = "kek-" + secrets.token_hex(4)
    write_private(folder / f"{kek_id}.key", base64.b64encode(os.urandom(32)))
    if make_current:
        write_private(folder / "current", kek_id.encode())
    return kek_id


@lru_cache(maxsize=4)
def _source_path(kek_file: str, keys_dir: object) -> str:
    # A str built once: making a Path per use costs more than the stat itself (both a few microseconds).
    return kek_file or str(Path(keys_dir) / "kek" / "current")


def _source_version(path: str) -> tuple[int, int, int]:
    # The file is replaced atomically (a rename) on every change: a new inode or mtime means new keys.
    info = os.stat(path)
    return info.st_ino, info.st_mtime_ns, info.st_size


class _KeyringCache:
    """The keyring as the key source says now, re-read when the source changes.

    Every process checks the source on each use (one `stat`, about a microsecond), so all of
    them wrap under a new current KEK as soon as `rotate_keys` (or an operator editing
    EBOX_KEK_FILE) switches it; no process keeps a stale copy. `EBOX_KEK` in the environment
    is fixed for the life of a process.
    """

    def __init__(self) -> None:
        # (source version, keyring), replaced as one object so threads never pair mismatched halves.
        self._state: tuple[object, Keyring] | None = None

    def __call__(self) -> Keyring:
        version = self._version_now()
        state = self._state
        if state is None or state[0] != version:
            state = (version, _read_keyring())
            self._state = state
        return state[1]

    @staticmethod
    def _version_now() -> object:
        if settings.EBOX_KEK:
            return ("env", settings.EBOX_KEK)
        source = _source_path(settings.EBOX_KEK_FILE, settings.EBOX_KEYS_DIR)
        try:
            return _source_version(source)
        except FileNotFoundError:
            if settings.EBOX_KEK_FILE:
                raise
            ensure_created(Path(source), generate_development_kek)
            return _source_version(source)

    def cache_clear(self) -> None:
        self._state = None


def _read_keyring() -> Keyring:
    if settings.EBOX_KEK:
        pairs = _parse_keys(settings.EBOX_KEK.split(","))
    elif settings.EBOX_KEK_FILE:
        pairs = _parse_keys(Path(settings.EBOX_KEK_FILE).read_text().splitlines())
    else:
        folder = _development_kek_dir()
        current = (folder / "current").read_text().strip()
        pairs = [(current, base64.b64decode((folder / f"{current}.key").read_text()))]
        pairs += [(p.stem, base64.b64decode(p.read_text())) for p in sorted(folder.glob("*.key")) if p.stem != current]
    if not pairs:
        raise ValueError("no key-encryption key configured")
    return Keyring(current_id=pairs[0][0], keys=dict(pairs))


load_keyring = _KeyringCache()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(data_key: bytes) -> tuple[str, bytes]:
    """Encrypt a data key under the current KEK; returns (kek_id, wrapped)."""
    keyring = load_keyring()
    nonce = os.urandom(NONCE_BYTES)
    aad = b"ebox:dek:" + keyring.current_id.encode()
    return keyring.current_id, nonce + _kek_cipher(keyring.key(keyring.current_id)).encrypt(nonce, data_key, aad)


def unwrap_key(kek_id: str, wrapped: bytes) -> bytes:
    keyring = load_keyring()
    try:
        return _kek_cipher(keyring.key(kek_id)).decrypt(
            bytes(wrapped[:NONCE_BYTES]), bytes(wrapped[NONCE_BYTES:]), b"ebox:dek:" + kek_id.encode()
        )
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("wrapped data key does not authenticate") from exc


@lru_cache(maxsize=16)
def _kek_cipher(kek: bytes) -> AESGCM:
    # One cipher context per KEK: wrapping and unwrapping are on the publication, sealing and
    # reading hot paths.
    return AESGCM(kek)


def rewrap_key(kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
    """Re-encrypt a wrapped data key under the current KEK (key rotation); the data key never changes."""
    return wrap_key(unwrap_key(kek_id, wrapped))


def generate_kek_line() -> str:
    """A fresh "id:base64key" line for an operator to add to EBOX_KEK / EBOX_KEK_FILE."""
    return f"kek-{secrets.token_hex(4)}:{base64.b64encode(os.urandom(32)).decode()}"


def uses_development_keys() -> bool:
    return not settings.EBOX_KEK and not settings.EBOX_KEK_FILE


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("ciphertext does not authenticate") from exc


def field_aad(owner_id: object, field: str) -> bytes:
    return f"ebox:{owner_id}:{field}".encode()


def encrypt_field(data_key: bytes, owner_id: object, field: str, plaintext: bytes) -> bytes:
    return _encrypt(data_key, plaintext, field_aad(owner_id, field))


def encrypt_fields(data_key: bytes, owner_id: object, plaintexts: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """Encrypt several fields of one owner with one cipher context (a publication encrypts up to four)."""
    aead = AESGCM(data_key)
    out: dict[str, bytes | None] = {}
    for field, plaintext in plaintexts.items():
        if plaintext is None:
            out[field] = None
            continue
        nonce = os.urandom(NONCE_BYTES)
        out[field] = nonce + aead.encrypt(nonce, plaintext, field_aad(owner_id, field))
    return out


def decrypt_field(data_key: bytes, owner_id: object, field: str, blob: bytes) -> bytes:
    return _decrypt(data_key, bytes(blob), field_aad(owner_id, field))


def decrypt_fields(data_key: bytes, owner_id: object, blobs: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """Decrypt several fields of one owner with one cipher context (sealing reads four per message)."""
    aead = AESGCM(data_key)
    out: dict[str, bytes | None] = {}
    for field, blob in blobs.items():
        if blob is None:
            out[field] = None
            continue
        try:
            out[field] = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], field_aad(owner_id, field))
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError(f"{field} does not authenticate") from exc
    return out


def encrypt_stream(
    data_key: bytes, owner_id: object, field: str, source: BinaryIO, target: BinaryIO
) -> tuple[int, str]:
    """Encrypt `source` into `target` chunk by chunk; return (plaintext size, SHA-256 hex)."""
    aead = AESGCM(data_key)
    prefix = os.urandom(8)
    aad = field_aad(owner_id, field)
    target.write(_BLOB_MAGIC + prefix)
    digest = hashlib.sha256()
    size = 0
    counter = 0
    chunk = source.read(CHUNK_BYTES)
    while True:
        following = source.read(CHUNK_BYTES) if chunk else b""
        last = not following
        digest.update(chunk)
        size += len(chunk)
        nonce = prefix + struct.pack(">I", counter)
        target.write(aead.encrypt(nonce, chunk, aad + struct.pack(">I?", counter, last)))
        if last:
            break
        counter += 1
        chunk = following
    return size, digest.hexdigest()


def decrypt_stream(data_key: bytes, owner_id: object, field: str, source: BinaryIO):
    """Yield plaintext chunks of a blob made by `encrypt_stream`; raise DecryptionError on tampering."""
    aead = AESGCM(data_key)
    header = source.read(len(_BLOB_MAGIC) + 8)
    if not header.startswith(_BLOB_MAGIC):
        raise DecryptionError("not an eBox encrypted blob")
    prefix = header[len(_BLOB_MAGIC) :]
    aad = field_aad(owner_id, field)
    sealed_chunk = CHUNK_BYTES + 16
    counter = 0
    block = source.read(sealed_chunk)
    while True:
        following = source.read(sealed_chunk)
        last = not following
        nonce = prefix + struct.pack(">I", counter)
        try:
            yield aead.decrypt(nonce, block, aad + struct.pack(">I?", counter, last))
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError(f"attachment chunk {counter} does not authenticate") from exc
        if last:
            return
        counter += 1
        block = following
