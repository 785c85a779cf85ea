"""Reading campaigns: an organisation's list, one campaign's progress (from PostgreSQL), its report rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.db.models import Count, Q, QuerySet, Subquery

from campaigns.models import Campaign, CampaignRow
from campaigns.services.uploading import CellError
from messages.models import Message, MessageEvent


def campaigns_of(organisation_id: int) -> QuerySet[Campaign]:
    return Campaign.objects.filter(organisation_id=organisation_id).order_by("-created_at")


def campaign_of(organisation_id: int, campaign_id) -> Campaign | None:
    """The campaign if it belongs to this organisation (else None: a 404, never another's)."""
    return Campaign.objects.filter(organisation_id=organisation_id, pk=campaign_id).first()


@dataclass
class Progress:
    status: str
    total: int
    published: int
    sealed: int
    notified: int
    paper: int
    failed: int
    cancelled: int
    checked: int = 0  # rows checked so far while `validating`
    errors: int = 0  # problems found by the check

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def percent(self) -> int:
        return round(100 * self.published / self.total) if self.total else 0


def progress(campaign: Campaign) -> Progress:
    """Counts of the campaign's rows: published, sealed, notified (an e-mail sent), on paper, failed.

    Three indexed queries (rows by campaign, messages and events by message id), whatever the
    campaign's size: the page polls this.
    """
    if campaign.status in (Campaign.Status.VALIDATING, Campaign.Status.INVALID):
        return Progress(campaign.status, campaign.row_count, 0, 0, 0, 0, 0, 0,
                        campaign.validated_rows, campaign.error_count)  # fmt: skip
    rows = CampaignRow.objects.filter(campaign=campaign)
    counts = rows.aggregate(
        published=Count("pk", filter=Q(status=CampaignRow.Status.PUBLISHED)),
        failed=Count("pk", filter=Q(status=CampaignRow.Status.FAILED)),
        cancelled=Count("pk", filter=Q(status=CampaignRow.Status.CANCELLED)),
        paper=Count("pk", filter=Q(channel__in=[Message.Channel.PAPER, Message.Channel.DIGITAL_AND_PAPER])),
    )
    message_ids = rows.filter(message_id__isnull=False).values("message_id")
    sealed = Message.objects.filter(id__in=Subquery(message_ids), sealed_at__isnull=False).count()
    notified = (
        MessageEvent.objects.filter(message_id__in=Subquery(message_ids), kind=MessageEvent.Kind.NOTIFIED)
        .values("message_id")
        .distinct()
        .count()
    )
    return Progress(
        campaign.status,
        campaign.row_count,
        counts["published"],
        sealed,
        notified,
        counts["paper"],
        counts["failed"],
        counts["cancelled"],
        campaign.validated_rows,
        campaign.error_count,
    )


def cell_errors(campaign: Campaign) -> list[CellError]:
    """The problems the check found (the first MAX_ERRORS_SHOWN), each shown in the reader's language."""
    return [CellError.from_dict(e) for e in campaign.errors]


REPORT_COLUMNS = ("row", "recipient", "message_id", "channel", "status", "error")


def report_rows(campaign: Campaign) -> Iterator[tuple]:
    """One tuple per spreadsheet row, in row order (REPORT_COLUMNS); streamed from the database."""
    rows = (
        CampaignRow.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list("number", "recipient_id", "message_id", "channel", "status", "error")
    )
    for number, recipient, message_id, channel, status, error in rows.iterator(chunk_size=5000):
        yield number, recipient, message_id or "", channel, status, error
