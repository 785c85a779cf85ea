"""Benchmark: publishMessage against the same server's trivial endpoint, ratios measured in one run.

    .venv/bin/python bench/publish.py [--seconds 5] [--rounds 3] [--connections 4]

gunicorn (2 sync workers) on private embedded PostgreSQL + Redis; the load generator is
`wrk` (Debian package, C, event loop: a few % of one core) with a Lua script posting the
multipart body. Measured, one after the other:
  - baseline: GET /healthz (Django + one `SELECT 1`), the server's trivial endpoint
  - (a) publishMessage with a body only          target ratio ≥ 0.3
  - (b) publishMessage with a 100 kB PDF         target ratio ≥ 0.15
Every publication is a new message (no Idempotency-Key); no Celery worker runs, so the
sealing tasks wait in Redis (the worker's cost is not the API's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

BOUNDARY = "ebox-bench-boundary"


def multipart_body(message: dict, files: dict[str, tuple[str, bytes, str]]) -> bytes:
    out = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="messageToPublish"\r\n'
        f"Content-Type: application/json\r\n\r\n".encode()
        + json.dumps(message).encode()
        + b"\r\n"
    ]
    for name, (file_name, data, content_type) in files.items():
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


LUA = """
local f = io.open("{body}", "rb")
wrk.method = "{method}"
wrk.body = f and f:read("*all") or nil
wrk.headers["Authorization"] = "Bearer {token}"
{content_type}
"""


def server_cpu_seconds() -> float:
    """CPU time the machine has spent so far outside the load generator: the server's processes
    (gunicorn, PostgreSQL, Redis) and the kernel's work for them (file and block I/O run partly
    in kernel threads, which per-process accounting misses), plus whatever else runs (little)."""
    import resource

    import psutil

    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the wrk runs that have ended
    return busy - children.ru_utime - children.ru_stime


def run_wrk(
    url: str, path: str, token: str, seconds: int, connections: int, body: bytes | None = None, warmup: bool = False
):
    folder = Path(tempfile.mkdtemp(prefix="wrk-"))
    body_file = folder / "body"
    if body is not None:
        body_file.write_bytes(body)
    script = folder / "script.lua"
    script.write_text(
        LUA.format(
            body=body_file,
            method="POST" if body is not None else "GET",
            token=token,
            content_type=f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={BOUNDARY}"' if body else "",
        )
    )
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"{url}{path}"]
    if warmup:
        subprocess.run([*cmd[:3], "-d1s", *cmd[4:]], capture_output=True, check=True)
        return 0.0, 0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    shutil.rmtree(folder, ignore_errors=True)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{path}: {errors.group(1)} error responses\n{out}")
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), requests_done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5, help="per measure and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4, help="2 per sync worker: one served, one waiting")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk missing: apt-get install -y wrk")
    os.environ["OAUTH_ACCESS_TOKEN_SECONDS"] = "3600"
    data_dir = common.setup_django()
    proc = None
    try:
        from ebox.pdf import simple_pdf
        from messages.models import Message

        issued = common.make_sender()
        proc, url = common.start_gunicorn(workers=2)
        token = common.fetch_token(url, issued.client_id, issued.client_secret)
        message = {
            "recipient": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
            "messageTypeId": "tax",
            "subject": {"fr": "Votre avertissement-extrait de rôle", "nl": "Uw aanslagbiljet"},
            "bodyContent": {"fr": "Madame, Monsieur, " * 20},
            "bodyMainContent": True,
            "replyAuthorized": False,
        }
        body_only = multipart_body(message, {})
        pdf = simple_pdf("Avertissement-extrait de rôle", ["Montant: 1.234,56 EUR"], padding_bytes=100 * 1024 - 700)
        with_pdf = multipart_body(
            {
                **message,
                "bodyMainContent": False,
                "bodyContent": None,
                "attachments": [{"httpPartName": "upfile1", "mainContent": True}],
            },
            {"upfile1": ("letter.pdf", pdf, "application/pdf")},
        )
        s, c = args.seconds, args.connections
        # The machine is shared: the three measures are interleaved in rounds so that a
        # change of background load affects them alike; rates are averaged over rounds.
        # Server CPU per request is measured too: unlike rates, it hardly depends on what else runs.
        rates = {"trivial": [], "a": [], "b": []}
        cpu = {"trivial": [0.0, 0], "a": [0.0, 0], "b": [0.0, 0]}
        measures = (
            ("trivial", "/healthz", None),
            ("a", "/api/v2/publishMessage", body_only),
            ("b", "/api/v2/publishMessage", with_pdf),
        )
        for _key, path, body in measures:  # warm-up: connections, prepared statements, caches
            run_wrk(url, path, token, s, c, body, warmup=True)
        for _ in range(args.rounds):
            for key, path, body in measures:
                before = server_cpu_seconds()
                rate, done = run_wrk(url, path, token, s, c, body)
                cpu[key][0] += server_cpu_seconds() - before
                cpu[key][1] += done
                rates[key].append(rate)
        trivial, a, b = (sum(rates[k]) / len(rates[k]) for k in ("trivial", "a", "b"))
        cpu_ms = {k: 1000 * total / max(n, 1) for k, (total, n) in cpu.items()}
        stored = Message.objects.count()
        print(
            f"load generator: wrk -t1 -c{c}, {args.rounds} rounds of {s}s each; gunicorn 2 sync workers; "
            f"{stored} messages stored"
        )
        print(f"trivial endpoint GET /healthz:     {trivial:8.1f} req/s")
        print(f"(a) publishMessage, body only:     {a:8.1f} req/s   ratio {a / trivial:.3f} (target >= 0.3)")
        print(f"(b) publishMessage, 100 kB PDF:    {b:8.1f} req/s   ratio {b / trivial:.3f} (target >= 0.15)")
        print(f"    PDF size {len(pdf)} bytes")
        print(
            "server CPU per request (the machine's, less the load generator's): "
            f"trivial {cpu_ms['trivial']:.2f} ms, (a) {cpu_ms['a']:.2f} ms, (b) {cpu_ms['b']:.2f} ms; "
            f"CPU ratios (a) {cpu_ms['trivial'] / cpu_ms['a']:.3f}, (b) {cpu_ms['trivial'] / cpu_ms['b']:.3f}"
        )
    finally:
        if proc is not None:
            common.stop(proc)
        common.teardown(data_dir)


if __name__ == "__main__":
    main()
