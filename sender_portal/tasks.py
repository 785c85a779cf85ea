"""Celery tasks of the sender portal: thin wrappers over its services (queued by name, scheduled by beat)."""

from __future__ import annotations

from celery import shared_task

from sender_portal.services import sending


@shared_task(name="sender_portal.sweep_drafts")
def sweep_drafts() -> int:
    return sending.sweep_drafts()
