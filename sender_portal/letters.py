"""Queries behind the "Sent letters" pages: the organisation's letters with filters, each letter's
timeline, and counts per type and month for the chart."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from messages.models import Message, MessageEvent
from senders.models import Organisation


def sent_letters(
    organisation: Organisation,
    *,
    message_type: str | None = None,
    status: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    campaign: object | None = None,
) -> QuerySet[Message]:
    letters = Message.objects.filter(sender_organisation=organisation).select_related("message_type")
    if message_type:
        letters = letters.filter(message_type__message_type_id=message_type)
    if status:
        letters = letters.filter(status=status)
    if since:
        letters = letters.filter(received_at__date__gte=since)
    if until:
        letters = letters.filter(received_at__date__lte=until)
    # CAMPAIGNS HOOK: the campaigns branch adds Message.campaign; filter on it when it exists.
    if campaign is not None and any(f.name == "campaign" for f in Message._meta.get_fields()):
        letters = letters.filter(campaign=campaign)
    return letters.order_by("-received_at", "-id")


def letter(organisation: Organisation, message_id) -> Message:
    """One of the organisation's letters (Message.DoesNotExist for anyone else's)."""
    return Message.objects.select_related("message_type", "citizen").get(
        pk=message_id, sender_organisation=organisation
    )


def timeline(message: Message) -> list[tuple[str, dt.datetime, str]]:
    """(step, when, by) from the message's own times and its events, oldest first."""
    steps = [(_("accepted"), message.received_at, "")]
    if message.sealed_at:
        steps.append((_("sealed"), message.sealed_at, ""))
    labels = dict(MessageEvent.Kind.choices)
    for event in message.events.all():
        steps.append(
            (str(labels.get(event.kind, event.kind)), event.at, event.actor if event.actor == "citizen" else "")
        )
    if message.channel in (Message.Channel.PAPER, Message.Channel.DIGITAL_AND_PAPER):
        # Printing is the organisation's own: the step says the letter is owed on paper (no print event yet).
        steps.append((_("to print and post (paper channel)"), message.received_at, ""))
    return sorted(steps, key=lambda s: s[1])


def monthly_counts(organisation: Organisation, months: int = 12) -> tuple[list[str], list[dict]]:
    """Letters per type and month over the last `months` months: (month labels, [{type, counts, total}])."""
    today = timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    rows = (
        Message.objects.filter(sender_organisation=organisation, received_at__date__gte=first)
        .annotate(month=TruncMonth("received_at"))
        .values("message_type__message_type_id", "month")
        .annotate(n=Count("id"))
    )
    labels: list[dt.date] = []
    month = first
    while month <= today:
        labels.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    by_type: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        by_type.setdefault(row["message_type__message_type_id"], {})[row["month"].date()] = row["n"]
    peak = max((n for counts in by_type.values() for n in counts.values()), default=0)
    series = [
        {
            "type": type_id,
            "counts": [
                {"month": m, "n": counts.get(m, 0), "percent": round(100 * counts.get(m, 0) / peak) if peak else 0}
                for m in labels
            ],
            "total": sum(counts.values()),
        }
        for type_id, counts in sorted(by_type.items())
    ]
    return labels, series
