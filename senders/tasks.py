"""Celery tasks of senders: thin wrappers over senders.callbacks.delivery; services queue them by name."""

from __future__ import annotations

from celery import shared_task

from senders.callbacks import delivery


@shared_task(name="senders.deliver_callbacks", acks_late=True)
def deliver_callbacks() -> int:
    """Deliver the callbacks that are due; run twice, it sends nothing twice (rows are claimed in PostgreSQL)."""
    return delivery.deliver().delivered


@shared_task(name="senders.deliver_due_callbacks")
def deliver_due_callbacks() -> int:
    """Beat: take back claims of lost workers, then deliver retries that are due."""
    return delivery.deliver_due().delivered
