"""Input that must be refused before it reaches Python's limits or PostgreSQL: "safe JSON" and
"safe query values", in one place for every API.

- `loads` parses JSON that is at most `MAX_JSON_DEPTH` arrays/objects deep (measured by a flat
  scan of the bytes before parsing, so a body nested 5,000 deep is refused without recursing),
  with integers of at most `MAX_JSON_INTEGER_DIGITS` digits, and without NUL characters or lone
  UTF-16 surrogates in any string or key (PostgreSQL stores neither: psycopg raises, which
  was a 500). `SafeJSONParser` is DRF's JSON parser on top of it (`DEFAULT_PARSER_CLASSES`).
- `bad_text` says why a string cannot be stored (NUL, lone surrogate).
- `UnsafeRequestMiddleware` refuses a request whose path, query string or headers carry a NUL
  (a path id, a filter, an Idempotency-Key or a bearer token with a NUL used to reach
  PostgreSQL) with 400 (a StatusMessage under /api/), and a URL or headers past our size limits
  with 414 / 431, below gunicorn's own limits (whose answers are HTML).
- `bounded_int` converts a query value to an int within bounds, refusing long digit strings
  before converting them.
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from ebox.status_message import status_message

MAX_JSON_DEPTH = 32  # the deepest document of the API (a batch item's businessDataList) is 6 deep
MAX_JSON_INTEGER_DIGITS = 100
READ_CHUNK = 64 * 1024

# A JSON string once its escaped quotes and backslashes are gone and only quotes and brackets are left.
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_OPENERS = {ord("["), ord("{")}
# Escapes that can decode to NUL or to a surrogate (raw NUL or surrogate bytes are invalid JSON / UTF-8).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


class UnsafeInput(ValueError):
    """Input refused before use; the message says why (safe to show the client)."""


def bad_text(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    return "contains a NUL character" if found.group() == "\x00" else "contains a lone UTF-16 surrogate"


def json_depth(raw: bytes) -> int:
    """How deeply arrays/objects nest in `raw` (valid JSON), without parsing it.

    Escaped backslashes, then escaped quotes, are dropped (left to right, as JSON reads them), and
    everything but quotes and brackets: what is left is short, and its strings hold only
    brackets. Each step runs in C over the bytes; a regular expression over the whole body (a
    campaign's is megabytes of base64) cost as much as parsing it (bench/profile_batch.py --pdf).
    """
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = _STRING.sub(b"", structure).translate(None, _NOT_BRACKETS)
    openers = brackets.count(b"[") + brackets.count(b"{")
    if openers <= MAX_JSON_DEPTH:
        return openers  # cannot nest deeper than there are openers (the usual case: no scan)
    return max(accumulate(1 if b in _OPENERS else -1 for b in brackets))


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise UnsafeInput(f"a number has more than {MAX_JSON_INTEGER_DIGITS} digits")
    return int(text)


def loads(raw: bytes | bytearray | str) -> object:
    """JSON → Python, or UnsafeInput (also for JSON that is merely invalid)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    raw = bytes(raw)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise UnsafeInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw.decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
    except UnsafeInput:
        raise
    except (ValueError, RecursionError) as exc:
        raise UnsafeInput(f"not valid JSON: {exc}") from None
    if _SUSPECT_ESCAPE.search(raw):
        _check_strings(data)
    return data


def _no_constant(name: str):
    raise UnsafeInput(f"{name} is not a JSON number")


def _check_strings(data: object) -> None:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            reason = bad_text(item)
            if reason:
                raise UnsafeInput(f"a string {reason}")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class BodyTooLarge(ParseError):
    status_code = 413
    default_code = "too_large"


class SafeJSONParser(BaseParser):
    """DRF's JSON parser through `loads`: bounded depth and numbers, no NUL or lone surrogate.

    The body is read in chunks up to the view's `max_body_bytes()` (DATA_UPLOAD_MAX_MEMORY_SIZE
    for views without one) and refused with 413 as soon as it passes it, Content-Length or not.
    Not a subclass of DRF's JSONParser: DRF reads `request.body` (capped at
    DATA_UPLOAD_MAX_MEMORY_SIZE) for those before calling them.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", lambda: None)() or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = bytearray()
        while stream is not None:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f"request body larger than {limit} bytes")
        try:
            return loads(body)
        except UnsafeInput as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def bounded_int(value: str | None, default: int, low: int, high: int) -> int | None:
    """A query value as an int in [low, high] (default when absent), None when it is not one."""
    if value is None:
        return default
    value = value.strip()
    if not value or len(value) > len(str(high)) + 1:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high else None


# Below gunicorn's limits (gunicorn.conf.py: 8,190 bytes a line), so clients get our StatusMessage.
MAX_URL_BYTES = 4096
MAX_HEADER_BYTES = 4096
MAX_HEADERS_BYTES = 16384


class UnsafeRequestMiddleware:
    """400 for a NUL in the path, the query string or a header, before any view or query sees it;
    414 for a URL, 431 for a header past our limits (below gunicorn's, see gunicorn.conf.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        oversize = self._oversize(request)
        if oversize is not None:
            return self._refuse(request, *oversize)
        where = self._where(request)
        if where is None:
            return self.get_response(request)
        message = f"the {where} contains a NUL character"
        # A token with a NUL is no token: 401, as for any other wrong token.
        status, code = (401, "INVALID_AUTHORIZATION") if where == "header Authorization" else (400, "INVALID_DATA")
        return self._refuse(request, status, code, message)

    @staticmethod
    def _oversize(request) -> tuple[int, str, str] | None:
        url = len(request.META.get("PATH_INFO", "")) + len(request.META.get("QUERY_STRING", ""))
        if url > MAX_URL_BYTES:
            return 414, "URI_TOO_LONG", f"the URL is longer than {MAX_URL_BYTES} bytes"
        total = 0
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str):
                if len(value) > MAX_HEADER_BYTES:
                    name = key.removeprefix("HTTP_").replace("_", "-").title()
                    return 431, "HEADER_TOO_LARGE", f"the {name} header is longer than {MAX_HEADER_BYTES} bytes"
                total += len(key) + len(value)
        if total > MAX_HEADERS_BYTES:
            return 431, "HEADER_TOO_LARGE", f"the headers are longer than {MAX_HEADERS_BYTES} bytes in all"
        return None

    @staticmethod
    def _refuse(request, status: int, code: str, message: str):
        if request.path.startswith("/api/"):
            response = JsonResponse(status_message(status, message, code=code), status=status)
        else:
            response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="ebox", error="invalid_token"'
        return response

    @staticmethod
    def _where(request) -> str | None:
        if "\x00" in request.path_info:
            return "path"
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
            return "query string"
        for key, value in request.META.items():
            if (key.startswith("HTTP_") or key == "CONTENT_TYPE") and isinstance(value, str) and "\x00" in value:
                return f"header {key.removeprefix('HTTP_').replace('_', '-').title()}"
        return None
