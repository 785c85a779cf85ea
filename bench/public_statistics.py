"""Bench: the statistics page from rollups vs counting the messages table per request.

Runs on a private embedded PostgreSQL and Redis (ebox.test_settings), fills the messages
table with N rows spread over 24 months (SQL generate_series, no encryption: the figures
only read metadata), then prints, against a baseline measured in the same run:

- baseline: the aggregate a page without rollups would run per request (GROUP BY month
  over the whole messages table);
- the page rendered from the rollups with an empty cache, and from the cache;
- the nightly full refresh and the frequent 2-month refresh.

    .venv/bin/python bench/public_statistics.py [N=300000]
"""

from __future__ import annotations

import os
import statistics as stats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ebox.test_settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.db.models.functions import TruncMonth  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000


def timed(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return stats.median(samples)


def main() -> None:
    call_command("migrate", verbosity=0)
    from demo.loader import load_demo, load_demo_history
    from messages.models import Message
    from public_pages import statistics

    load_demo()
    load_demo_history()
    template = Message.objects.order_by("received_at").first()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO mailbox_message (id, content_id, sender_organisation_id, sender_application_id, message_type_id,
                recipient_type, recipient_id, citizen_id, registered_mail, reply_authorized, body_main_content, channel,
                status, received_at, expires_at, sealed_at, seal_key_id, read_at)
            SELECT gen_random_uuid(), %(content)s, %(org)s, %(app)s, %(type)s, 'citizen', %(recipient)s, %(citizen)s,
                i %% 20 = 0, false, false,
                (ARRAY['digital', 'digital', 'paper', 'digital_and_paper'])[1 + i %% 4], 'sealed',
                now() - (i %% 720) * interval '1 day', now() + interval '1 year', now(), 'bench',
                CASE WHEN i %% 3 = 0 THEN now() ELSE NULL END
            FROM generate_series(1, %(n)s) AS i
            """,
            {
                "content": template.content_id,
                "org": template.sender_organisation_id,
                "app": template.sender_application_id,
                "type": template.message_type_id,
                "recipient": template.recipient_id,
                "citizen": template.citizen_id,
                "n": N,
            },
        )
        cursor.execute("ANALYZE mailbox_message")
    print(f"inserted {N} messages in {time.perf_counter() - start:.1f}s; {Message.objects.count()} in total")

    tz = timezone.get_default_timezone()

    def without_rollups() -> None:
        list(
            Message.objects.annotate(month=TruncMonth("received_at", tzinfo=tz))
            .values("month")
            .annotate(n=Count("id"), read=Count("id", filter=Q(read_at__isnull=False)))
            .order_by("month")
        )

    full = timed(lambda: statistics.refresh_statistics(), repeat=3)
    recent = timed(lambda: statistics.refresh_statistics(months=2), repeat=3)
    client = Client()

    def page_uncached() -> None:
        cache.clear()
        assert client.get("/statistics/").status_code == 200

    def page_cached() -> None:
        assert client.get("/statistics/").status_code == 200

    baseline = timed(without_rollups)
    uncached = timed(page_uncached)
    page_cached()
    cached = timed(page_cached)
    print(f"baseline: one GROUP BY over {Message.objects.count()} messages per request: {baseline * 1000:.1f} ms")
    print(f"statistics page, rollups, empty cache: {uncached * 1000:.1f} ms  ratio {uncached / baseline:.3f}")
    print(f"statistics page, cached summary:       {cached * 1000:.1f} ms  ratio {cached / baseline:.3f}")
    print(f"full refresh (nightly beat):            {full * 1000:.1f} ms  ratio {full / baseline:.2f}")
    print(f"2-month refresh (every 10 min):         {recent * 1000:.1f} ms  ratio {recent / baseline:.2f}")


if __name__ == "__main__":
    main()
