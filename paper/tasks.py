"""Celery tasks of the paper service (beat): thin wrappers over paper.services."""

from __future__ import annotations

from celery import shared_task

from paper.services import batches, queueing


# Its result (the batch id) is kept: an operator or a test can wait for a run it asked for.
@shared_task(name="paper.print_batch", acks_late=True, ignore_result=False)
def print_batch() -> str | None:
    """One print run into EBOX_PRINT_OUT_DIR; its id, or None when nothing was queued."""
    batch = batches.print_batch()
    return batch.id if batch else None


@shared_task(name="paper.collect_acks")
def collect_acks() -> list[str]:
    return batches.collect_acknowledgements()


@shared_task(name="paper.queue_unacknowledged")
def queue_unacknowledged() -> int:
    return queueing.queue_unacknowledged()
