"""Celery tasks of the public app: thin wrappers over public.statistics (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from public_pages import statistics


@shared_task(name="public_pages.refresh_statistics")
def refresh_statistics() -> int:
    """The recent months (new messages, fresh reads): every few minutes."""
    result = statistics.refresh_statistics(months=settings.EBOX_STATS_REFRESH_MONTHS)
    return result.message_rows


@shared_task(name="public_pages.refresh_statistics_full")
def refresh_statistics_full() -> int:
    """All history (reads of old messages, deactivations): once a night."""
    return statistics.refresh_statistics().message_rows
