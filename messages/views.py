"""Public endpoints of the trust layer."""

from django.http import JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from messages import sealing


@require_GET
@cache_control(public=True, max_age=300)
def jwks(request):
    """The platform's seal keys (every key still needed to verify a seal), as a JWK Set."""
    return JsonResponse(sealing.jwks())
