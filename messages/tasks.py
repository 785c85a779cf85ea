"""Celery tasks: thin wrappers over messages.services; arguments are ids (JSON)."""

from __future__ import annotations

from celery import shared_task

from messages import services


@shared_task(name="mailbox.seal_messages", acks_late=True)
def seal_messages(message_ids: list[str]) -> int:
    return services.seal_messages(message_ids)


@shared_task(name="mailbox.redispatch_pending")
def redispatch_pending() -> int:
    return services.redispatch_pending()


@shared_task(name="mailbox.sweep_integrity")
def sweep_integrity() -> int:
    from django.conf import settings

    from messages import integrity

    return integrity.sweep(limit=settings.EBOX_INTEGRITY_SWEEP_LIMIT).checked
