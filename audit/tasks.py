"""Celery tasks of the audit app: thin wrappers over audit.services (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from audit import retention, services


@shared_task(name="audit.sign_checkpoint")
def sign_checkpoint() -> int | None:
    """Sign the chain head with the platform seal key (beat, every EBOX_AUDIT_CHECKPOINT_SECONDS)."""
    try:
        checkpoint = services.sign_checkpoint()
    except services.ChainBroken:
        return None  # logged as an error; verify_audit names the problem, and the checkpoint goes stale
    return checkpoint.entry_id if checkpoint else None


@shared_task(name="audit.prune")
def prune() -> int:
    """Prune audit entries past EBOX_AUDIT_RETENTION_DAYS behind a signed record (beat, nightly)."""
    record = retention.prune()
    return record.pruned_count if record else 0
