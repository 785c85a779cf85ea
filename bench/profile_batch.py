"""Profile the batch extension in-process (cProfile): where the time goes per message.

.venv/bin/python bench/profile_batch.py [-n 5000] [tottime|cumulative]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.batch import national_numbers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("sort", nargs="?", default="cumulative")
    parser.add_argument("--pdf", action="store_true", help="a 2 kB PDF per item, as bench/campaign.py sends")
    args = parser.parse_args()
    data_dir = common.setup_django()
    try:
        from django.test import Client

        issued = common.make_sender()
        client = Client()
        token = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret},
        ).json()["access_token"]
        numbers = national_numbers(args.n * 2)
        documents = {}
        if args.pdf:
            import base64

            from ebox.pdf import simple_pdf

            pdf = simple_pdf("Avertissement-extrait de rôle", ["Exercice 2027."], padding_bytes=1500)
            content = base64.b64encode(pdf).decode()
            documents = {"upfile1": {"fileName": "a.pdf", "mediaType": "application/pdf", "content": content}}

        def body(offset):
            return json.dumps(
                {
                    "messages": [
                        {
                            "idempotencyKey": f"k-{offset + i}",
                            "messageToPublish": {
                                "recipient": {"eboxType": "citizen", "eboxIdValue": numbers[offset + i]},
                                "messageTypeId": "tax",
                                "subject": {"fr": "Votre courrier"},
                                "bodyContent": {"fr": "Madame, Monsieur, " * 20},
                                "bodyMainContent": not documents,
                                "replyAuthorized": False,
                                "attachments": [{"httpPartName": "upfile1", "mainContent": True}] if documents else [],
                            },
                            "documents": documents,
                        }
                        for i in range(args.n)
                    ]
                }
            )

        def once(offset):
            r = client.post(
                "/api/v2/extensions/publishMessages",
                body(offset),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert r.status_code == 200 and r.json()["rejected"] == 0, r.content[:300]

        started = time.perf_counter()
        once(0)
        print(f"{args.n / (time.perf_counter() - started):.0f} messages/s in-process (not profiled)")
        profile = cProfile.Profile()
        profile.enable()
        once(args.n)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(45)
    finally:
        common.teardown(data_dir)


if __name__ == "__main__":
    main()
