"""The API's error body: the eBox spec's StatusMessage (`id`, `code`, `message`), plus our `details`.

Shared infrastructure: the API views (senders/api/errors.py turns exceptions into it) and the
middleware that answers before any view (rate limits, tokens outside the header, a database
that cannot be reached) all speak this one shape.
"""

from __future__ import annotations

import uuid

from django.conf import settings

CODES = {
    400: "INVALID_DATA",
    401: "INVALID_AUTHORIZATION",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "DUPLICATE",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    431: "HEADER_TOO_LARGE",
    503: "SERVICE_UNAVAILABLE",
}


def status_message(status_code: int, message: str, details: list[dict] | None = None, code: str | None = None) -> dict:
    """The StatusMessage body for an answer with this HTTP status."""
    body = {"id": str(uuid.uuid4()), "code": code or CODES.get(status_code, "ERROR"), "message": str(message)}
    contact = getattr(settings, "EBOX_API_CONTACT", "")
    if contact:
        body["contact"] = contact
    if details:
        body["details"] = details
    return body
