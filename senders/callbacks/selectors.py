"""Queries on an application's callbacks: the delivery state its administrators see in the portal."""

from __future__ import annotations

from django.db.models import Count, Max, Q

from senders.models import CallbackDelivery, SenderApplication


def delivery_summary(sender_application: SenderApplication) -> dict:
    """The last delivery, the failed count and, when the oldest callback still owed has been
    refused at least once, its last error (`failing`): what an administrator needs to act."""
    rows = CallbackDelivery.objects.filter(sender_application=sender_application)
    totals = rows.aggregate(
        last_delivered=Max("delivered_at"),
        failed=Count("id", filter=Q(state=CallbackDelivery.State.FAILED)),
        owed=Count("id", filter=Q(state__in=[CallbackDelivery.State.PENDING, CallbackDelivery.State.DELIVERING])),
    )
    retrying = (
        rows.filter(state__in=[CallbackDelivery.State.PENDING, CallbackDelivery.State.DELIVERING], attempts__gt=0)
        .order_by("created_at")
        .values_list("last_error", flat=True)
        .first()
    )
    last_failed = (
        rows.filter(state=CallbackDelivery.State.FAILED)
        .order_by("-created_at")
        .values_list("last_error", flat=True)
        .first()
    )
    return {
        **totals,
        "failing": retrying is not None,
        "last_error": retrying if retrying is not None else (last_failed or ""),
    }
