"""What every view of the sender API shares: the bearer token and scope, JSON in and out, paging.

Views only translate HTTP to calls: validation is `senders.publication`, storing is
`messages.services.publishing`, reading is `senders.selectors`. Errors are StatusMessage
bodies (`senders.api.errors`). The views: `publishing` (publish, batch, link), `searches`
(message status, eBox preferences), `reference_data`, `replies`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.conf import settings
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ebox.safe_input import SafeJSONParser, bounded_int
from senders.api.authentication import ScopeRequired, SenderTokenAuthentication
from senders.api.errors import ApiError, detail


@lru_cache(maxsize=256)  # a batch's answers repeat one expiration date thousands of times
def timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _JsonAnswers(BaseContentNegotiation):
    """The sender API answers JSON whatever the Accept header says: nothing to negotiate per call."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SenderAPIView(APIView):
    """A view for sender applications: their bearer token, and the scope the view names."""

    authentication_classes = [SenderTokenAuthentication]
    permission_classes = [ScopeRequired]
    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonAnswers
    required_scope: str | None = None

    def max_body_bytes(self) -> int | None:
        """JSON bodies are read whole: refuse big ones before reading (multipart streams to files)."""
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and scope first
        limit = self.max_body_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise ApiError(413, f"request body larger than {limit} bytes")

    @property
    def principal(self):
        return self.request.user


def json_array(data, name: str, max_items: int) -> list:
    if not isinstance(data, list) or not data:
        raise ApiError(400, f"{name} must be a non-empty array", [detail(name, "a non-empty array is needed")])
    if len(data) > max_items:
        raise ApiError(400, f"at most {max_items} items", [detail(name, f"at most {max_items} items")])
    return data


MAX_PAGE = 1_000_000  # OFFSET stays far below PostgreSQL's bigint, whatever pageSize is


def paging(request) -> tuple[int, int]:
    errors = []
    values = {}
    for name, default, maximum in (("page", 1, MAX_PAGE), ("pageSize", 25, 100)):
        value = bounded_int(request.query_params.get(name), default, 1, maximum)
        if value is None:
            errors.append(detail(name, f"must be an integer from 1 to {maximum}"))
        values[name] = value
    if errors:
        raise ApiError(400, "invalid paging", errors)
    return values["page"], values["pageSize"]
