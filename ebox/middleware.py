"""Request-wide behaviour that belongs to no single app."""

import logging

from django import db
from django.http import HttpResponse, JsonResponse
from django.utils import translation

from ebox.status_message import status_message

logger = logging.getLogger(__name__)


class ApiLanguageMiddleware:
    """The API speaks English unless the client asks otherwise with Accept-Language.

    The portal's default language (French) suits citizens, not integrators' logs: an error
    message half in French, half in English helps nobody. Placed after LocaleMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A request that fails because PostgreSQL cannot be reached (restarting, failing over) gets
    503 with Retry-After, not a 500: nothing was stored (each write is one transaction), and the
    client should simply try again. API paths get a StatusMessage body, pages a short text.

    Django closes the broken connection at the end of the request (its error wrapper marked
    it), so the next request reconnects.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (db.OperationalError, db.InterfaceError)):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        message = "the service is briefly unavailable; nothing was stored, try again"
        if request.path.startswith("/api/"):
            response = JsonResponse(status_message(503, message), status=503)
        else:
            response = HttpResponse(translation.gettext("eBox is briefly unavailable. Please try again."), status=503)
            response["Content-Type"] = "text/plain; charset=utf-8"
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
