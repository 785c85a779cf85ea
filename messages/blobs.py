"""Encrypted blob I/O: write, open, delete; small blobs in PostgreSQL, the others on the attachment storage.

Its interface, kept narrow (everything that touches a blob goes through it):

- `write_encrypted(name, encrypt, database_id)`: encrypt; a result of at most
  EBOX_DATABASE_BLOB_MAX_BYTES (64 KiB by default, ebox.settings_blobs) is not written anywhere
  but returned as a row (`{"id", "data"}` of messages.models.Blob) that the caller stores with its
  own rows, in its own transaction (messages.services.rows: one statement, or COPY for a batch),
  and named `db:<database_id>`; a larger one goes to the storage as before;
- `open_encrypted(name)`: a stream of the ciphertext, wherever it is (OSError when missing);
- `delete(name)`: remove it (a database blob in the caller's transaction, if any);
- `shred(names)`: crypto-shredding (messages.services.expiry): database blobs are deleted in the
  caller's transaction, with the key; stored ones once it commits.

Why PostgreSQL for small ones: a campaign of 2 kB letters wrote one file per letter (300,000
files; creating one cost 15 µs to 0.9 ms of CPU on this disk, bench/campaign.py), where a row
written with COPY costs a few µs and is backed up, replicated and shredded with the rest.

The storage for the others is the filesystem under `<EBOX_DATA_DIR>/blobs` (development) or an S3-compatible
bucket through django-storages when `AWS_STORAGE_BUCKET_NAME` is set (ebox.settings). Blobs are
already ciphertext (messages.crypto.encrypt_stream, 64 KiB AES-GCM chunks); this module only moves
them, never whole in memory:

- writing encrypts into a SpooledTemporaryFile that stays in memory up to
  FILE_UPLOAD_MAX_MEMORY_SIZE and spills to a temporary file beyond, then hands it to the
  storage (S3: boto3's managed upload, multipart in AWS_S3_TRANSFER_CONFIG's chunks);
- reading opens the object's HTTP body as a stream (S3) or the file (filesystem) and reads it
  chunk by chunk; django-storages' own read mode would first download the whole object.
"""

from __future__ import annotations

import io
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from ebox.storage import StorageUnavailable

logger = logging.getLogger(__name__)


DATABASE_PREFIX = "db:"


def in_database(name: str) -> bool:
    return name.startswith(DATABASE_PREFIX)


def write_encrypted(
    name: str, encrypt: Callable[[BinaryIO], object], database_id: uuid.UUID | None = None
) -> tuple[object, str, dict | None]:
    """Call `encrypt(target)` to write ciphertext, then store it as `name`; return (encrypt's result,
    stored name, database row).

    With a `database_id` (the owner's id), ciphertext of at most EBOX_DATABASE_BLOB_MAX_BYTES is
    returned as a database row instead, named `db:<database_id>`: the caller inserts the row
    (messages.models.Blob) with its own rows, so that it exists exactly when they do.

    A storage error (a full disk, a quota, any backend error) removes what was partly written and
    raises StorageUnavailable; the caller removes the blobs it wrote before."""
    database_max = settings.EBOX_DATABASE_BLOB_MAX_BYTES if database_id is not None else 0
    stored = None
    try:
        # In memory up to the upload threshold: a temporary file on disk costs more than the
        # encryption of a typical letter (profiled: creating a file in /tmp took ~0.5-0.9 ms of CPU).
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as encrypted:
            result = encrypt(encrypted)
            size = encrypted.tell()
            encrypted.seek(0)
            if size <= database_max:
                # No storage call at all (profiled: get_available_name alone cost ~0.2 ms per blob).
                return result, f"{DATABASE_PREFIX}{database_id}", {"id": database_id, "data": encrypted.read()}
            # The name is fixed before writing, so that a write that fails half-way can be removed.
            stored = default_storage.get_available_name(name)
            stored = default_storage.save(stored, File(encrypted))
    except Exception as exc:  # noqa: BLE001 - OSError (ENOSPC, EDQUOT…) or whatever a storage backend raises
        if stored is not None:
            try:
                default_storage.delete(stored)  # Django's file storage leaves a partly written file behind
            except Exception:  # noqa: BLE001 - best effort: the error that matters is the write's
                logger.warning("could not remove the partly written blob %s", stored)
        logger.error("attachment storage failed writing %s: %s", name, exc)
        raise StorageUnavailable(str(exc)) from exc
    return result, stored, None


class _ExactReader:
    """`read(n)` returns n bytes unless the stream ends (an HTTP body may return fewer)."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return self.raw.read()
        parts, missing = [], size
        while missing:
            part = self.raw.read(missing)
            if not part:
                break
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    def __enter__(self) -> _ExactReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def open_encrypted(name: str):
    """A context manager reading the blob `name` as a stream (raises OSError if it is missing)."""
    if in_database(name):
        from messages.models import Blob

        data = Blob.objects.filter(pk=_database_id(name)).values_list("data", flat=True).first()
        if data is None:
            raise FileNotFoundError(f"blob {name}: not in the database")
        return io.BytesIO(bytes(data))
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        return default_storage.open(name, "rb")
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    try:
        body = bucket.Object(default_storage._normalize_name(clean_name(name))).get()["Body"]
    except ClientError as exc:
        raise FileNotFoundError(f"blob {name}: {exc}") from exc
    return _ExactReader(body)


def _database_id(name: str) -> uuid.UUID:
    try:
        return uuid.UUID(name.removeprefix(DATABASE_PREFIX))
    except ValueError as exc:
        raise FileNotFoundError(f"blob {name}: not a database blob name") from exc


def delete(name: str) -> None:
    """Remove a blob: a database blob in the caller's transaction (if any), a stored one at once."""
    if in_database(name):
        from messages.models import Blob

        Blob.objects.filter(pk=_database_id(name)).delete()
    else:
        default_storage.delete(name)


def shred(names: Iterable[str]) -> None:
    """Crypto-shredding's part (call it in the transaction that forgets the key): database blobs
    are deleted in that transaction; stored ones once it commits (a storage cannot roll back,
    and a blob whose key is gone is unreadable anyway)."""
    from messages.models import Blob

    names = [n for n in names if n]
    ids = [_database_id(n) for n in names if in_database(n)]
    if ids:
        Blob.objects.filter(pk__in=ids).delete()
    stored = [n for n in names if not in_database(n)]
    if stored:
        transaction.on_commit(lambda: _delete_stored(stored))


def _delete_stored(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 - any storage backend error; best effort: ciphertext without its key
            logger.warning("could not delete blob %s (unreadable without its key)", name)
