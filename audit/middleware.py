"""The middleware that records successful API calls and authenticated portal actions (audit.services)."""

from audit.services import record_request, should_record


class AuditMiddleware:
    """Records successful API calls and authenticated portal actions; views add ids to `request.audit_ids`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.audit_ids = []
        response = self.get_response(request)
        if should_record(request, response) and not getattr(request, "audit_recorded", False):
            # Synchronous: if the entry cannot be written the request fails loudly rather than go unlogged.
            record_request(request, response.status_code)
        return response
