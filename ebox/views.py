"""The home page and the health check."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
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
