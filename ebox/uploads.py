"""The size limit of a form upload (a citizen's reply with its PDF, an operator's logo), enforced
while the body streams in.

Django's multipart parser spools any upload to a temporary file first and lets the form check
its size afterwards, so a 10 GB body would be written to disk before being refused. This
handler, first in FILE_UPLOAD_HANDLERS, refuses a body whose Content-Length is over the limit
before reading it, and stops reading one without a length as soon as it passes the limit
(RequestDataTooBig: Django answers 400 and nothing reaches a view). The API's own parsers
enforce their per-endpoint limits the same way (ebox.safe_input).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class BoundedUploadHandler(FileUploadHandler):
    """Counts every byte of every uploaded file of the request against EBOX_MAX_FORM_UPLOAD_BYTES."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.received = 0

    def limit(self) -> int:
        """The bytes allowed; a view that takes larger uploads (a campaign) installs a subclass."""
        return settings.EBOX_MAX_FORM_UPLOAD_BYTES

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: N803 - Django's name
        if content_length and content_length > self.limit():
            raise RequestDataTooBig(f"upload over {self.limit()} bytes")
        return None  # let the next handlers store the files

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit():
            raise RequestDataTooBig(f"upload over {self.limit()} bytes")
        return raw_data  # passed on to the handler that stores it

    def file_complete(self, file_size: int):
        return None  # the next handler returns the file
