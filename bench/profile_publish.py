"""Profile publishMessage in-process (cProfile), to see where the time goes before optimising.

.venv/bin/python bench/profile_publish.py [--pdf] [-n 300]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.publish import BOUNDARY, multipart_body  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf", action="store_true")
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("sort", nargs="?", default="cumulative")
    args = parser.parse_args()
    data_dir = common.setup_django()
    try:
        from django.test import Client

        from ebox.pdf import simple_pdf
        from senders.api.authentication import SenderTokenAuthentication  # noqa: F401

        issued = common.make_sender()
        client = Client()
        token = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret},
        ).json()["access_token"]
        message = {
            "recipient": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
            "messageTypeId": "tax",
            "subject": {"fr": "Votre courrier"},
            "bodyContent": {"fr": "Madame, Monsieur, " * 20},
            "bodyMainContent": True,
            "replyAuthorized": False,
        }
        files = {}
        if args.pdf:
            message.update(
                bodyMainContent=False, bodyContent=None, attachments=[{"httpPartName": "upfile1", "mainContent": True}]
            )
            files = {"upfile1": ("letter.pdf", simple_pdf("x", ["y"], padding_bytes=100 * 1024), "application/pdf")}
        body = multipart_body(message, files)

        def once():
            r = client.generic(
                "POST",
                "/api/v2/publishMessage",
                body,
                content_type=f"multipart/form-data; boundary={BOUNDARY}",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert r.status_code == 201, r.content

        for _ in range(20):
            once()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            once()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{args.n / wall:.1f} publications/s in-process (not profiled): {wall / args.n * 1e3:.2f} ms wall, "
            f"{cpu / args.n * 1e3:.2f} ms CPU of this process per publication"
        )
        started = time.perf_counter()
        # CPU time, not wall time: waiting for PostgreSQL is not this process's cost.
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(args.n):
            once()
        profile.disable()
        print(f"{args.n / (time.perf_counter() - started):.1f} publications/s in-process (profiled)")
        pstats.Stats(profile).sort_stats(
            sys.argv[-1] if sys.argv[-1] in ("tottime", "cumulative") else "cumulative"
        ).print_stats(45)
    finally:
        common.teardown(data_dir)


if __name__ == "__main__":
    main()
