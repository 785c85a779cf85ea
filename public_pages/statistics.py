"""Public statistics: the refresh of the rollup tables (the only code writing them) and the cached summary.

A request never counts the messages or citizens tables. Beat calls `refresh_statistics`:
every few minutes for the most recent months (new messages, fresh reads), once a night
for the whole history (reads of old messages, deactivations). The summary the page shows
is computed from the rollups (a few thousand rows) and kept in the Django cache.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from citizens.models import Citizen
from messages.models import Message
from public_pages.models import MonthlyActivationStatistic, MonthlyMessageStatistic
from senders.models import Organisation

logger = logging.getLogger(__name__)

SUMMARY_CACHE_KEY = "public-statistics:summary:v1"
# Any constant: serialises concurrent refreshes (two beat runs, a manual one) in PostgreSQL.
_REFRESH_LOCK = 0x65626F78


@dataclass(frozen=True)
class Factors:
    """What one paper letter costs, in money and CO2: estimates, configurable (see docs/operators.md, "Public pages")."""

    eur_per_letter: Decimal
    eur_per_registered_letter: Decimal
    co2_grams_per_letter: Decimal


def factors() -> Factors:
    return Factors(
        eur_per_letter=Decimal(str(settings.EBOX_STATS_EUR_PER_LETTER)),
        eur_per_registered_letter=Decimal(str(settings.EBOX_STATS_EUR_PER_REGISTERED_LETTER)),
        co2_grams_per_letter=Decimal(str(settings.EBOX_STATS_CO2_GRAMS_PER_LETTER)),
    )


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    year, index = divmod(month.month - 1 + count, 12)
    return dt.date(month.year + year, index + 1, 1)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


# --- Refresh (service) ----------------------------------------------------------


@dataclass
class RefreshResult:
    since: dt.date | None
    message_rows: int
    activation_rows: int


def refresh_statistics(months: int | None = None, *, today: dt.date | None = None) -> RefreshResult:
    """Recompute the rollups of the last `months` calendar months (this one included), or of all history.

    Each month is recomputed whole from the raw tables (one GROUP BY on the indexed
    timestamp), then replaced in one transaction, so a refresh that runs twice has one effect.
    """
    if months is not None and months < 1:
        raise ValueError("months must be at least 1")
    tz = timezone.get_default_timezone()
    today = today or timezone.localdate()
    since = add_months(month_start(today), -(months - 1)) if months is not None else None

    with transaction.atomic():
        # One refresh at a time; a second one waits, then recomputes from what is committed.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFRESH_LOCK])
        message_rows, activation_rows = _aggregate(since, tz, timezone.now())
        old_messages = MonthlyMessageStatistic.objects.all()
        old_activations = MonthlyActivationStatistic.objects.all()
        if since is not None:
            old_messages = old_messages.filter(month__gte=since)
            old_activations = old_activations.filter(month__gte=since)
        old_messages.delete()
        old_activations.delete()
        MonthlyMessageStatistic.objects.bulk_create(message_rows)
        MonthlyActivationStatistic.objects.bulk_create(activation_rows)
        transaction.on_commit(invalidate_summary)
    return RefreshResult(since=since, message_rows=len(message_rows), activation_rows=len(activation_rows))


def _aggregate(
    since: dt.date | None, tz: dt.tzinfo, now: dt.datetime
) -> tuple[list[MonthlyMessageStatistic], list[MonthlyActivationStatistic]]:
    """The rollup rows of the months from `since` (all when None), by GROUP BY on the indexed timestamps."""
    messages = Message.objects.all()
    citizens = Citizen.objects.filter(activated_at__isnull=False)
    if since is not None:
        messages = messages.filter(received_at__gte=_local_midnight(since))
        citizens = citizens.filter(activated_at__gte=_local_midnight(since))
    digital = Q(channel=Message.Channel.DIGITAL)
    message_rows = [
        MonthlyMessageStatistic(
            month=row["month"].astimezone(tz).date(),
            organisation_id=row["sender_organisation_id"],
            messages=row["messages"],
            read=row["read"],
            digital=row["digital"],
            digital_registered=row["digital_registered"],
            refreshed_at=now,
        )
        for row in messages.annotate(month=TruncMonth("received_at", tzinfo=tz))
        .values("month", "sender_organisation_id")
        .annotate(
            messages=Count("id"),
            read=Count("id", filter=Q(read_at__isnull=False)),
            digital=Count("id", filter=digital),
            digital_registered=Count("id", filter=digital & Q(registered_mail=True)),
        )
        .order_by()
    ]
    activation_rows = [
        MonthlyActivationStatistic(month=row["month"].astimezone(tz).date(), activations=row["n"], refreshed_at=now)
        for row in citizens.annotate(month=TruncMonth("activated_at", tzinfo=tz))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    ]
    return message_rows, activation_rows


def invalidate_summary() -> None:
    try:
        cache.delete(SUMMARY_CACHE_KEY)
    except Exception:  # noqa: BLE001 - Redis down: the cached copy expires on its own
        logger.warning("could not invalidate the cached statistics summary")


# --- Summary (selector) -----------------------------------------------------------


def statistics_summary(today: dt.date | None = None) -> dict:
    """The figures of the statistics page, from the rollups, cached for EBOX_STATS_CACHE_SECONDS.

    If Redis (the cache) is down the summary is computed from the rollups, which is cheap.
    """
    if today is None:
        try:
            cached = cache.get(SUMMARY_CACHE_KEY)
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a dependency
            cached = None
        if cached is not None:
            return cached
    summary = compute_summary(today)
    if today is None:
        try:
            cache.set(SUMMARY_CACHE_KEY, summary, settings.EBOX_STATS_CACHE_SECONDS)
        except Exception:  # noqa: BLE001
            logger.warning("could not cache the statistics summary")
    return summary


def compute_summary(today: dt.date | None = None) -> dict:
    """Totals and the monthly series of the last EBOX_STATS_CHART_MONTHS months, from the rollups."""
    today = today or timezone.localdate()
    last = month_start(today)
    first = add_months(last, -(settings.EBOX_STATS_CHART_MONTHS - 1))
    f = factors()

    per_month = {
        row["month"]: row
        for row in MonthlyMessageStatistic.objects.values("month")
        .annotate(
            messages=Sum("messages"),
            read=Sum("read"),
            digital=Sum("digital"),
            digital_registered=Sum("digital_registered"),
        )
        .order_by("month")
    }
    totals = {key: sum(row[key] for row in per_month.values()) for key in ("messages", "read", "digital")}
    registered = sum(row["digital_registered"] for row in per_month.values())

    activations = dict(MonthlyActivationStatistic.objects.values_list("month", "activations"))
    users = sum(activations.values())

    monthly = []
    users_before = sum(n for month, n in activations.items() if month < first)
    cumulative_users = users_before
    month = first
    while month <= last:
        row = per_month.get(month, {})
        cumulative_users += activations.get(month, 0)
        digital_n = row.get("digital", 0) or 0
        digital_registered_n = row.get("digital_registered", 0) or 0
        monthly.append(
            {
                "month": month,
                "messages": row.get("messages", 0) or 0,
                "read": row.get("read", 0) or 0,
                "letters_avoided": digital_n,
                "eur_saved": _eur(f, digital_n, digital_registered_n),
                "users": cumulative_users,
                "new_users": activations.get(month, 0),
            }
        )
        month = add_months(month, 1)

    joined = sorted(Organisation.objects.values_list("joined_on", flat=True))
    organisations_by_year = []
    if joined:
        cumulative = 0
        for year in range(joined[0].year, max(today.year, joined[-1].year) + 1):
            new = sum(1 for day in joined if day.year == year)
            cumulative += new
            organisations_by_year.append({"year": year, "new": new, "organisations": cumulative})

    refreshed = MonthlyMessageStatistic.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    return {
        "users": users,
        "organisations": len(joined),
        "messages": totals["messages"],
        "read": totals["read"],
        "read_share": (totals["read"] / totals["messages"]) if totals["messages"] else None,
        "letters_avoided": totals["digital"],
        "registered_letters_avoided": registered,
        "eur_saved": _eur(f, totals["digital"], registered),
        "co2_kg_saved": (f.co2_grams_per_letter * totals["digital"] / 1000).quantize(Decimal("0.1")),
        "monthly": monthly,
        "organisations_by_year": organisations_by_year,
        "factors": f,
        "refreshed_at": refreshed,
    }


def _eur(f: Factors, digital: int, digital_registered: int) -> Decimal:
    standard = digital - digital_registered
    return (f.eur_per_letter * standard + f.eur_per_registered_letter * digital_registered).quantize(Decimal("0.01"))
