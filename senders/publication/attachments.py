"""The files of a publication: parts as received, media types detected from the bytes, the `attachments`
list checked against the parts, and the base64 documents of the batch extension.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from ebox.file_safety import clean_file_name, refusal
from messages.services.publishing import AttachmentUpload
from senders.publication.fields import MAX_SUBJECT, detail, translated

PART_NAMES = tuple(f"upfile{i}" for i in range(1, 7))

# Media types we accept, detected from the bytes: (type, extensions, declared types that mean the same).
MEDIA_TYPES = {
    "application/pdf": ((".pdf",), {"application/pdf", "application/x-pdf"}),
    "image/png": ((".png",), {"image/png"}),
    "image/jpeg": ((".jpg", ".jpeg"), {"image/jpeg", "image/jpg", "image/pjpeg"}),
    "text/xml": ((".xml",), {"text/xml", "application/xml"}),
}
# Declared types that say nothing (clients often send these): no mismatch is possible.
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


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


def attachment_uploads(value, parts: dict[str, ReceivedPart], oversized, errors: list[dict]):
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
        title = translated(
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
    file_name = clean_file_name(part.name or "")
    if not file_name:
        errors.append(detail(part_name, "file name missing (Content-Disposition filename)", "missing"))
        return None
    if "." in file_name and not file_name.lower().endswith(extensions):
        errors.append(
            detail(part_name, f"file name {file_name} does not match the content ({detected})", "media_type_mismatch")
        )
        return None
    unsafe = refusal(part.file, detected)
    if unsafe:
        errors.append(detail(part_name, unsafe, "unsafe_content"))
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
