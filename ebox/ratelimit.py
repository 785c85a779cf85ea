"""Rate limits in Redis (Django's cache), per client id / account and per source address.

Two kinds of rule, each a fixed window counted in Redis:

* failures: the OAuth endpoints (`/o/token/`, `/o/revoke_token/`, `/o/introspect/`) and the admin
  login count their failed answers (4xx; a re-shown admin login form) per client id or user name and
  per address. Past the limit every request of that key is refused, the right secret included,
  until the window ends: guessing secrets or passwords stops at a few attempts per window.
* requests: the API (per access token and per address) and the OIDC callback (per address) count
  every request.

A refused request gets 429 with Retry-After (seconds to the window's end); under /api/ the body
is an eBox StatusMessage like every other API error.

If Redis does not answer, requests pass (fail open) and a warning is logged: an outage of the
cache must not take the mailbox down. The limits then rest on the web server's own limits.

Limits are settings (`EBOX_RATE_LIMITS`, "count/seconds"; docs/operators.md, "Configuration"). The address
is REMOTE_ADDR, or the header named by `EBOX_CLIENT_IP_HEADER` behind a trusted proxy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse

from ebox.status_message import status_message

logger = logging.getLogger(__name__)

OAUTH_PATHS = ("/o/token/", "/o/revoke_token/", "/o/introspect/")
ADMIN_LOGIN = "/admin/login/"
OIDC_CALLBACK = "/oidc/callback/"


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


def limit(name: str) -> Limit:
    return Limit.parse(settings.EBOX_RATE_LIMITS[name])


def client_address(request) -> str:
    header = getattr(settings, "EBOX_CLIENT_IP_HEADER", "")
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _basic_client_id(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return ""
    try:
        return unquote_plus(base64.b64decode(header[6:]).decode("utf-8", "replace").partition(":")[0])
    except (binascii.Error, ValueError):
        return ""


def _bearer(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class _Window:
    """One fixed-window counter in the cache."""

    def __init__(self, rule: str, key: str, limit: Limit):
        now = time.time()
        self.start = int(now // limit.seconds) * limit.seconds
        self.limit = limit
        self.retry_after = max(1, int(self.start + limit.seconds - now + 0.999))
        self.cache_key = f"rl:{rule}:{_digest(key)}:{self.start}"

    def exceeded(self) -> bool:
        return (cache.get(self.cache_key) or 0) >= self.limit.count

    def hit(self) -> int:
        cache.add(self.cache_key, 0, self.limit.seconds + 1)
        try:
            return cache.incr(self.cache_key)
        except ValueError:  # expired between add and incr
            cache.set(self.cache_key, 1, self.limit.seconds + 1)
            return 1


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        address = client_address(request)
        counted: list[_Window] = []  # failure windows, hit after the answer if it is a failure
        try:
            if path in OAUTH_PATHS and request.method == "POST":
                client_id = _basic_client_id(request) or request.POST.get("client_id", "")
                counted = [_Window("oauth-address", address, limit("oauth_failures_per_address"))]
                if client_id:
                    counted.append(_Window("oauth-client", client_id, limit("oauth_failures_per_client")))
                refused = self._first_exceeded(counted)
                if refused is None:
                    refused = self._count([_Window("oauth-requests", address, limit("oauth_requests_per_address"))])
            elif path == ADMIN_LOGIN and request.method == "POST":
                username = request.POST.get("username", "").strip().lower()
                counted = [_Window("admin-address", address, limit("admin_failures_per_address"))]
                if username:
                    counted.append(_Window("admin-user", username, limit("admin_failures_per_user")))
                refused = self._first_exceeded(counted)
            elif path.startswith("/api/"):
                windows = [_Window("api-address", address, limit("api_per_address"))]
                token = _bearer(request)
                if token:
                    windows.append(_Window("api-token", token, limit("api_per_token")))
                refused = self._count(windows)
            elif path == OIDC_CALLBACK:
                refused = self._count([_Window("oidc-address", address, limit("oidc_callback_per_address"))])
            else:
                return self.get_response(request)
        except Exception:  # noqa: BLE001 - any cache failure: fail open, loudly
            logger.warning("rate limiting skipped: the cache (Redis) did not answer", exc_info=True)
            return self.get_response(request)
        if refused is not None:
            return too_many_requests(request, refused.retry_after)
        response = self.get_response(request)
        if counted and self._failed(path, response):
            try:
                for window in counted:
                    window.hit()
            except Exception:  # noqa: BLE001
                logger.warning("rate limiting: failure not counted, the cache (Redis) did not answer", exc_info=True)
        return response

    @staticmethod
    def _first_exceeded(windows: list[_Window]) -> _Window | None:
        return next((w for w in windows if w.exceeded()), None)

    @staticmethod
    def _count(windows: list[_Window]) -> _Window | None:
        refused = None
        for window in windows:
            if window.hit() > window.limit.count and refused is None:
                refused = window
        return refused

    @staticmethod
    def _failed(path: str, response) -> bool:
        if path == ADMIN_LOGIN:
            return response.status_code == 200 or 400 <= response.status_code < 500  # the form shown again
        return 400 <= response.status_code < 500


def too_many_requests(request, retry_after: int) -> HttpResponse:
    message = f"too many requests: try again in {retry_after} s"
    if request.path_info.startswith("/api/"):
        response = JsonResponse(status_message(429, message), status=429)
    elif request.path_info in OAUTH_PATHS:
        response = HttpResponse(
            json.dumps({"error": "slow_down", "error_description": message}),
            status=429,
            content_type="application/json",
        )
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
