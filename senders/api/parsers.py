"""The multipart/form-data parser of publishMessage: streamed, bounded, and cheap.

Profiling publishMessage showed Django's MultiPartParser (and its upload handlers) as the
largest single part of a small publication: ~20 header look-ups through the `email`
package per request. This one streams the body through `multipart`'s sans-IO parser:
the `messageToPublish` part is kept in memory (up to DATA_UPLOAD_MAX_MEMORY_SIZE), every
other part goes to a spooled temporary file (memory up to FILE_UPLOAD_MAX_MEMORY_SIZE,
then disk), and a part past EBOX_MAX_ATTACHMENT_BYTES stops being stored: it is marked
`too_large` and the rest of it is read and dropped. Parts may come in any order.
"""

from __future__ import annotations

import tempfile

import multipart
from django.conf import settings
from django.utils.datastructures import MultiValueDict
from rest_framework.parsers import BaseParser, DataAndFiles

from senders.api.errors import ApiError, detail
from senders.publication.attachments import ReceivedPart

MESSAGE_PART = "messageToPublish"
READ_CHUNK = 64 * 1024
# The spec's message part and six files, with room for a client's extra fields (refused later, by name).
MAX_PARTS = 16


class PublicationMultiPartParser(BaseParser):
    """multipart/form-data → data {"messageToPublish": bytearray}, files {part name: ReceivedPart}."""

    media_type = "multipart/form-data"

    def parse(self, stream, media_type=None, parser_context=None) -> DataAndFiles:
        boundary = _boundary(media_type or "")
        data: dict[str, bytes] = {}
        files: MultiValueDict = MultiValueDict()  # what Django's request.close() expects (it closes them)
        parser = multipart.PushMultipartParser(
            boundary, max_segment_count=MAX_PARTS, max_header_count=8, header_charset="utf8"
        )
        target = None  # what the current part's bytes go to
        try:
            with parser:
                while not parser.closed:
                    chunk = stream.read(READ_CHUNK) if stream is not None else b""
                    for event in parser.parse(chunk):
                        if isinstance(event, multipart.MultipartSegment):
                            target = _Part(event, data, files)
                        elif event is None:
                            target.close()
                        else:
                            target.write(event)
                    if not chunk:
                        break
        except multipart.ParserLimitReached as exc:
            _discard(files)
            raise ApiError(413, f"multipart body: {exc}", [detail("body", str(exc), "too_large")]) from exc
        except multipart.MultipartError as exc:
            _discard(files)
            raise ApiError(400, f"not a valid multipart/form-data body: {exc}", [detail("body", str(exc))]) from exc
        except ApiError:
            _discard(files)
            raise
        return DataAndFiles(data, files)


class _Part:
    """Where one part's bytes go: the message part to memory, a file part to a spooled file."""

    def __init__(self, segment: multipart.MultipartSegment, data: dict, files: dict):
        self.name = segment.name
        if not self.name:
            raise ApiError(400, "a multipart part has no name", [detail("body", "Content-Disposition without name")])
        if self.name in data or self.name in files:
            raise ApiError(400, f"part {self.name} sent twice", [detail(self.name, "sent twice")])
        self.size = 0
        if self.name == MESSAGE_PART:
            self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            self.buffer = bytearray()
            self.part = None
            data[self.name] = self.buffer
        else:
            self.limit = settings.EBOX_MAX_ATTACHMENT_BYTES
            self.buffer = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - handed over to the caller, who closes it
                max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
            )
            self.part = ReceivedPart(
                file=self.buffer, name=segment.filename or "", content_type=segment.content_type or "", size=0
            )
            files[self.name] = self.part

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            if self.part is None:
                raise ApiError(413, f"{MESSAGE_PART} too large", [detail(MESSAGE_PART, "too large", "too_large")])
            if not self.part.too_large:  # keep reading (the body must be consumed), store no more
                self.part.too_large = True
                self.buffer.truncate(0)
            return
        if self.part is None:
            self.buffer += chunk
        else:
            self.buffer.write(chunk)

    def close(self) -> None:
        if self.part is not None:
            self.part.size = self.size
            self.buffer.seek(0)


def _boundary(media_type: str) -> str:
    _, options = multipart.parse_options_header(media_type)
    boundary = options.get("boundary")
    if not boundary:
        raise ApiError(
            400, "multipart/form-data without a boundary", [detail("Content-Type", "boundary parameter missing")]
        )
    return boundary


def _discard(files: MultiValueDict) -> None:
    for part in files.values():
        part.file.close()
