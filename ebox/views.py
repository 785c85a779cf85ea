"""The home page, the health check, and the not-found answer."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_GET

from senders.models import Organisation


@require_GET
def home(request):
    return render(request, "ebox/home.html", {"organisation_count": Organisation.objects.count()})


@require_GET
def healthz(request):
    """Liveness and database reachability, for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request, exception=None):
    """404: under /api/ the API's StatusMessage (clients parse JSON), elsewhere the accessible page."""
    if request.path.startswith("/api/"):
        from senders.api.errors import status_message

        return JsonResponse(status_message(404, f"no API operation at {request.path}"), status=404)
    return defaults.page_not_found(request, exception)
