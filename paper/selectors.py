"""Queries of the paper service: what the sender sees of a letter's print (searchMessageStatus)."""

from __future__ import annotations

import datetime as dt

from paper.models import PrintItem


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def print_statuses(message_ids: list) -> dict:
    """message id → `paper` extension object: {status, reason, batchId, queuedAt, printedAt} (one query)."""
    if not message_ids:
        return {}
    out = {}
    for item in PrintItem.objects.filter(message_id__in=message_ids).only(
        "message_id", "status", "reason", "batch_id", "queued_at", "printed_at"
    ):
        paper = {"status": item.status, "reason": item.reason, "queuedAt": _timestamp(item.queued_at)}
        if item.batch_id:
            paper["batchId"] = item.batch_id
        if item.printed_at:
            paper["printedAt"] = _timestamp(item.printed_at)
        out[item.message_id] = paper
    return out


def queued_count() -> int:
    return PrintItem.objects.filter(status=PrintItem.Status.QUEUED).count()
