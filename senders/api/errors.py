"""Every API error as the spec's StatusMessage (`id`, `code`, `message`), plus our `details` list.

`details` (our extension) carries one entry per faulty field, shaped like the spec's
`Detail` definition: `ref` names the field (a JSON path such as `subject` or
`attachments[0].digest.digestValue`), `kind` the problem, `message` what is wrong.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from ebox.status_message import CODES, status_message
from ebox.storage import StorageUnavailable

logger = logging.getLogger(__name__)

# A full disk is not freed in seconds: clients come back in a minute.
STORAGE_RETRY_AFTER_SECONDS = 60


def detail(ref: str, message: str, kind: str = "invalid") -> dict:
    return {"kind": kind, "ref": ref, "message": str(message)}


class ApiError(exceptions.APIException):
    """An error with a StatusMessage body; raise it from views (business checks raise their own)."""

    def __init__(self, status_code: int, message: str, details: list[dict] | None = None, code: str | None = None):
        self.status_code = status_code
        self.message = str(message)
        self.details = details or []
        self.code = code or CODES.get(status_code, "ERROR")
        super().__init__(self.message)


def error_response(status_code: int, message: str, details: list[dict] | None = None, code: str | None = None):
    return Response(status_message(status_code, message, details, code), status=status_code)


def _flatten(data, prefix: str = "") -> list[dict]:
    """DRF's nested error dicts/lists → one detail per field."""
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            ref = key if not prefix else f"{prefix}.{key}"
            out.extend(_flatten(value, ref if key != "non_field_errors" else prefix))
        return out
    if isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            return [detail(prefix or "body", str(v)) for v in data]
        out = []
        for i, value in enumerate(data):
            out.extend(_flatten(value, f"{prefix}[{i}]"))
        return out
    return [detail(prefix or "body", str(data))]


def exception_handler(exc, context):
    """DRF exception handler: StatusMessage for everything, 500 included (logged, no internals)."""
    if isinstance(exc, ApiError):
        response = error_response(exc.status_code, exc.message, exc.details, exc.code)
    elif isinstance(exc, RequestDataTooBig):
        response = error_response(413, "request body too large (DATA_UPLOAD_MAX_MEMORY_SIZE for form fields)")
    elif isinstance(exc, SuspiciousOperation):
        response = error_response(400, f"malformed request: {exc}")
    elif isinstance(exc, Http404):
        response = error_response(404, "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        response = error_response(403, "permission denied")
    elif isinstance(exc, exceptions.ValidationError):
        response = error_response(400, "invalid data", _flatten(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        message = exc.detail if isinstance(exc.detail, str) else "; ".join(str(d) for d in _flatten(exc.detail))
        response = error_response(exc.status_code, str(message))
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            response["Retry-After"] = str(int(exc.wait))
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # PostgreSQL restarting or failing over: nothing was stored; the broken connection is
        # closed at the end of this request (ebox.middleware.DatabaseUnavailableMiddleware says more).
        logger.warning("database unavailable in %s: %s", context.get("view"), exc)
        response = error_response(503, "the service is briefly unavailable; nothing was stored, try again")
        response["Retry-After"] = "5"
    elif isinstance(exc, IntegrityError):
        # A constraint PostgreSQL checks as the rows land (a batch's COPY, foreign keys at commit):
        # a record the request refers to changed meanwhile. The transaction rolled back whole.
        logger.warning("constraint violated in %s: %s", context.get("view"), exc)
        response = error_response(
            409, "the request conflicts with stored data (changed meanwhile?); nothing was stored", code="CONFLICT"
        )
    elif isinstance(exc, DataError):
        logger.warning("value refused by the database in %s: %s", context.get("view"), exc)
        response = error_response(400, "a value was refused by the database; nothing was stored")
    elif isinstance(exc, StorageUnavailable):
        # Disk full or storage backend down: what was written is removed (messages.services.publishing).
        logger.warning("attachment storage unavailable in %s: %s", context.get("view"), exc)
        response = error_response(503, "the attachment storage is unavailable; nothing was stored, try again later")
        response["Retry-After"] = str(STORAGE_RETRY_AFTER_SECONDS)
    else:
        logger.exception("unexpected error in %s", context.get("view"))
        return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error", code="INTERNAL_ERROR")
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)) or (
        isinstance(exc, ApiError) and exc.status_code == 401
    ):
        request = context.get("request")
        authenticator = getattr(request, "_authenticator", None) or _first_authenticator(context)
        header = authenticator.authenticate_header(request) if authenticator else None
        if header:
            response["WWW-Authenticate"] = header
        response.status_code = 401
        response.data["code"] = CODES[401]
    return response


def _first_authenticator(context):
    view = context.get("view")
    authenticators = view.get_authenticators() if view is not None else []
    return authenticators[0] if authenticators else None
