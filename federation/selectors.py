"""Reads of the federation: message providers, enterprise clients by token, document event pages."""

from __future__ import annotations

import datetime as dt

from federation.models import DocumentEvent, EnterpriseApplication, MessageProvider


def enterprise_applications(mailbox):
    """An enterprise's API clients, newest first, revoked ones included (the portal lists them)."""
    return EnterpriseApplication.objects.filter(enterprise=mailbox).select_related("oauth_application")


def message_providers():
    return MessageProvider.objects.order_by("provider_id")


def message_provider(provider_id: str) -> MessageProvider | None:
    return MessageProvider.objects.filter(provider_id=provider_id).first()


def document_events(
    mailbox, *, after: int, size: int, since: dt.datetime | None = None, event_types: list[str] | None = None
) -> tuple[list[DocumentEvent], bool]:
    """One page of the enterprise's events after sequence `after`, oldest first; and whether more follow."""
    events = DocumentEvent.objects.filter(enterprise=mailbox, sequence__gt=after)
    if since is not None:
        events = events.filter(event_time__gte=since)
    if event_types:
        events = events.filter(event_type__in=event_types)
    rows = list(events.order_by("sequence")[: size + 1])
    return rows[:size], len(rows) > size
