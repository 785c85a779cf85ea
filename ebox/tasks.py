"""Celery tasks of the ebox app: thin wrappers over ebox.statistics and ebox.audit (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from ebox import audit, statistics


@shared_task(name="ebox.refresh_statistics")
def refresh_statistics() -> int:
    """The recent months (new messages, fresh reads): every few minutes."""
    result = statistics.refresh_statistics(months=settings.EBOX_STATS_REFRESH_MONTHS)
    return result.message_rows


@shared_task(name="ebox.refresh_statistics_full")
def refresh_statistics_full() -> int:
    """All history (reads of old messages, deactivations): once a night."""
    return statistics.refresh_statistics().message_rows


@shared_task(name="ebox.sign_audit_checkpoint")
def sign_audit_checkpoint() -> int | None:
    checkpoint = audit.sign_checkpoint()
    return checkpoint.entry_id if checkpoint else None
