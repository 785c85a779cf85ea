"""The enterprise event API 1.1.1: an enterprise's own client submits and reads document events
about its own messages (`/ebox/enterprise/document/events`)."""

from __future__ import annotations

import datetime as dt

from rest_framework.response import Response
from rest_framework.views import APIView

from ebox.safe_input import bounded_int
from federation import selectors, services
from federation.api import docs
from federation.api.access import EnterpriseClient
from federation.api.views import refused
from federation.models import DocumentEvent
from senders.api.base import timestamp
from senders.api.errors import ApiError, detail

MAX_PAGE_SIZE = 100


def event_json(event: DocumentEvent) -> dict:
    return {
        "eventSequenceNbr": event.sequence,
        "eventTime": timestamp(event.event_time),
        "eventProviderId": event.provider_id,
        "eventData": event.data,
    }


class DocumentEventsView(APIView):
    permission_classes = [EnterpriseClient]

    def check_client_id(self, request) -> None:
        client_id = request.query_params.get("clientId")
        if client_id is not None and client_id != request.enterprise_app.oauth_application.client_id:
            raise ApiError(403, "clientId is not the client of this token")

    @docs.get_events
    def get(self, request):
        self.check_client_id(request)
        params, errors = request.query_params, []
        after = bounded_int(params.get("lastSequenceNbr"), None, 0, 2**63 - 1)
        if after is None:
            errors.append(detail("lastSequenceNbr", "required: an integer from 0"))
        size = bounded_int(params.get("pageSize"), None, 1, MAX_PAGE_SIZE)
        if size is None:
            errors.append(detail("pageSize", f"required: an integer from 1 to {MAX_PAGE_SIZE}"))
        since = None
        if params.get("startTime") is not None:
            try:
                since = dt.datetime.fromisoformat(params["startTime"])
            except ValueError:
                since = None
            if since is None or since.tzinfo is None:
                errors.append(detail("startTime", "must be a date-time with a time zone"))
        types = [t for t in (params.get("filter") or "").split(",") if t]
        if any(t not in DocumentEvent.Type.values for t in types):
            errors.append(detail("filter", f"a comma-separated list of: {', '.join(DocumentEvent.Type.values)}"))
        if errors:
            raise ApiError(400, "invalid parameters", errors)
        events, more = selectors.document_events(
            request.enterprise_app.enterprise, after=after, size=size, since=since, event_types=types
        )
        return Response(
            {
                "EboxEnterpriseDocumentEvents": [event_json(e) for e in events],
                "pageInfo": {"lastSequenceNbr": events[-1].sequence if events else after, "hasNext": more},
            }
        )

    @docs.submit_events
    def post(self, request):
        self.check_client_id(request)
        try:
            events = services.submit_document_events(request.enterprise_app, request.data)
        except services.Refused as exc:
            raise refused(exc) from exc
        return Response([event_json(e) for e in events], status=201)
