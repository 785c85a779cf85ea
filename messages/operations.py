"""What the operator view in the admin shows (selectors only): backlog, queue, incidents, campaigns.

Metadata and counts only; never any message content. Each probe answers on its own, so
a broker outage shows as "not available" beside figures that PostgreSQL still gives.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from ebox.i18n import translate
from messages.models import EmailNotification, IntegrityIncident, Message

logger = logging.getLogger(__name__)

CAMPAIGN_ROWS = 50


@dataclass
class Backlog:
    unsealed: int
    oldest_received_at: dt.datetime | None

    @property
    def oldest_age(self) -> dt.timedelta | None:
        return timezone.now() - self.oldest_received_at if self.oldest_received_at else None


def unsealed_backlog() -> Backlog:
    """Messages accepted but not yet sealed (uses the partial index on accepted messages)."""
    row = Message.objects.filter(status=Message.Status.ACCEPTED).aggregate(n=Count("id"), oldest=Min("received_at"))
    return Backlog(unsealed=row["n"], oldest_received_at=row["oldest"])


def queue_depth(queue: str | None = None, broker_url: str | None = None) -> int | None:
    """Tasks waiting in the broker's queue (Redis `LLEN`), or None when the broker cannot be reached."""
    from ebox.celery import app

    queue = queue or app.conf.task_default_queue or "celery"
    try:
        with app.connection_for_read(broker_url) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            return int(connection.default_channel.client.llen(queue))
    except Exception:  # noqa: BLE001 - kombu and redis raise many kinds; the page says "not available"
        logger.warning("operator view: broker unreachable, queue depth not available")
        return None


@dataclass
class Incidents:
    unresolved: int
    oldest_detected_at: dt.datetime | None


def integrity_incidents() -> Incidents:
    row = IntegrityIncident.objects.filter(resolved_at__isnull=True).aggregate(n=Count("id"), oldest=Min("detected_at"))
    return Incidents(unresolved=row["n"], oldest_detected_at=row["oldest"])


def notification_failures() -> int | None:
    """Failed notification e-mails, from the selector named by EBOX_NOTIFICATION_FAILURES_SELECTOR.

    The notifications app plugs its own selector in (a callable with no argument returning an
    int); until then, or if it fails, the view shows "not available" rather than a wrong zero.
    """
    path = settings.EBOX_NOTIFICATION_FAILURES_SELECTOR
    if not path:
        return None
    try:
        selector: Callable[[], int] = import_string(path)
        return int(selector())
    except Exception:  # noqa: BLE001 - a broken hook must not break the operator view
        logger.exception("operator view: notification failures selector %s failed", path)
        return None


def possible_duplicate_emails(now: dt.datetime | None = None) -> int:
    """Notification e-mails owed in the last 24 hours that were sent again without knowing whether a
    first copy had arrived (a lost worker, a connection lost before the server's reply): each may
    have reached the citizen twice, with the same Message-ID."""
    since = (now or timezone.now()) - dt.timedelta(days=1)
    return EmailNotification.objects.filter(created_at__gte=since).aggregate(n=Sum("resent_after_loss"))["n"] or 0


@dataclass
class CampaignRow:
    application_id: str
    organisation: str
    accepted_hour: int
    sealed_hour: int
    accepted_day: int
    sealed_day: int


def campaign_progress(now: dt.datetime | None = None) -> list[CampaignRow]:
    """Per sender application: messages accepted in the last hour and day, and how many of them are sealed."""
    now = now or timezone.now()
    hour, day = now - dt.timedelta(hours=1), now - dt.timedelta(days=1)
    sealed = Q(sealed_at__isnull=False)
    rows = (
        Message.objects.filter(received_at__gte=day)
        .values(
            "sender_application__application_id",
            "sender_organisation__short_name",
        )
        .annotate(
            accepted_day=Count("id"),
            sealed_day=Count("id", filter=sealed),
            accepted_hour=Count("id", filter=Q(received_at__gte=hour)),
            sealed_hour=Count("id", filter=Q(received_at__gte=hour) & sealed),
        )
        .order_by("-accepted_day")[:CAMPAIGN_ROWS]
    )
    return [
        CampaignRow(
            application_id=row["sender_application__application_id"],
            organisation=translate(row["sender_organisation__short_name"]),
            accepted_hour=row["accepted_hour"],
            sealed_hour=row["sealed_hour"],
            accepted_day=row["accepted_day"],
            sealed_day=row["sealed_day"],
        )
        for row in rows
    ]
