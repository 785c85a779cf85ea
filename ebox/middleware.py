"""Request-wide behaviour that belongs to no single app."""

from django.utils import translation


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
