"""Profile publishMessage in-process, to see where the time goes before optimising.

.venv/bin/python bench/profile_publish.py [--pdf] [-n 2000] [--sort tottime|cumulative]

Calls the WSGI application the way gunicorn does (no test client, whose own signals and
checks would be measured too), on private embedded services. Prints, for /healthz and
publishMessage measured in alternation: this process's CPU per request and PostgreSQL's
(its backend's CPU) per publication, then a cProfile of publications (CPU time, not waiting).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.publish import BOUNDARY, multipart_body  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf", action="store_true", help="a 100 kB PDF as main content instead of a body")
    parser.add_argument("-n", type=int, default=2000, help="publications per measure")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = parser.parse_args()
    os.environ["OAUTH_ACCESS_TOKEN_SECONDS"] = "3600"
    data_dir = common.setup_django()
    try:
        import psutil
        from django.core.wsgi import get_wsgi_application
        from django.db import connection

        from ebox.pdf import simple_pdf

        issued = common.make_sender()
        app = get_wsgi_application()
        message = {
            "recipient": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
            "messageTypeId": "tax",
            "subject": {"fr": "Votre avertissement-extrait de rôle", "nl": "Uw aanslagbiljet"},
            "bodyContent": {"fr": "Madame, Monsieur, " * 20},
            "bodyMainContent": True,
            "replyAuthorized": False,
        }
        files = {}
        if args.pdf:
            message.update(
                bodyMainContent=False, bodyContent=None, attachments=[{"httpPartName": "upfile1", "mainContent": True}]
            )
            pdf = simple_pdf("Avertissement-extrait de rôle", ["Montant"], padding_bytes=100 * 1024 - 700)
            files = {"upfile1": ("letter.pdf", pdf, "application/pdf")}
        body = multipart_body(message, files)
        token = None
        statuses = []

        def call(method: str, path: str, data: bytes = b"", content_type: str = "") -> None:
            environ = {
                "REQUEST_METHOD": method,
                "PATH_INFO": path,
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_HOST": "127.0.0.1:8000",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(data),
                "wsgi.errors": sys.stderr,
                "CONTENT_LENGTH": str(len(data)),
                "CONTENT_TYPE": content_type,
            }
            if token:
                environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            response = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
            b"".join(response)
            response.close()

        token = common.fetch_token_in_process(issued.client_id, issued.client_secret)

        def publish() -> None:
            call("POST", "/api/v2/publishMessage", body, f"multipart/form-data; boundary={BOUNDARY}")

        def healthz() -> None:
            call("GET", "/healthz")

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])

        def postgres_cpu() -> float:
            times = backend.cpu_times()
            return times.user + times.system

        for _ in range(200):  # warm-up: connection, prepared statements, caches
            healthz()
            publish()
        statuses.clear()
        cpu = {"healthz": [], "publish": []}
        postgres = []
        for _ in range(5):  # alternated, so that a change of background load affects both alike
            for name, request in (("healthz", healthz), ("publish", publish)):
                count = args.n if name == "healthz" else args.n // 4
                started, pg_started = time.process_time(), postgres_cpu()
                for _ in range(count):
                    request()
                cpu[name].append((time.process_time() - started) / count * 1e6)
                if name == "publish":
                    postgres.append((postgres_cpu() - pg_started) / count * 1e6)
        if set(statuses) != {"200 OK", "201 Created"}:
            raise SystemExit(f"unexpected answers: {set(statuses)}")
        h, p = statistics.median(cpu["healthz"]), statistics.median(cpu["publish"])
        pg = statistics.median(postgres)
        print(f"CPU per request (medians of 5 alternated runs): /healthz {h:.0f} µs, publishMessage {p:.0f} µs")
        print(f"PostgreSQL CPU per publication: {pg:.0f} µs")
        print(f"this process's CPU ratio {h / p:.3f}")

        profile = cProfile.Profile(time.process_time)  # CPU time: waiting for PostgreSQL is not ours
        profile.enable()
        for _ in range(args.n):
            publish()
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(50)
    finally:
        from django.db import connections

        connections.close_all()
        common.teardown(data_dir)


if __name__ == "__main__":
    main()
