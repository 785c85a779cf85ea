"""Celery tasks of the ebox app: thin wrappers over ebox.audit."""

from __future__ import annotations

from celery import shared_task

from ebox import audit


@shared_task(name="ebox.sign_audit_checkpoint")
def sign_audit_checkpoint() -> int | None:
    checkpoint = audit.sign_checkpoint()
    return checkpoint.entry_id if checkpoint else None
