"""`make run` as a developer meets it: `manage.py run_stack` in a fresh data folder, with its own
embedded PostgreSQL and Redis, the web server, worker, beat, SMTP sink and development IdP.

The terminal must stay readable: the banner comes last (once the web server answers) and is
not buried by beat's and the SMTP sink's routine lines, every process logs to <data>/logs/,
and the demo data send no e-mail at start-up.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lines(stream, into: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        into.put(line.rstrip("\n"))
    into.put(None)


def test_make_run_prints_its_banner_last_and_logs_each_process_to_a_file(tmp_path):
    port, idp_port, smtp_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBOX_", "DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ebox.settings",
        EBOX_DATA_DIR=str(tmp_path),
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        OIDC_ISSUER=f"http://127.0.0.1:{idp_port}",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_stack", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    printed: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, printed), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any("Ctrl-C stops everything" in line for line in seen):
            assert time.monotonic() < deadline, "\n".join(seen[-30:])
            try:
                line = printed.get(timeout=5)
            except queue.Empty:
                continue
            assert line is not None, "run_stack exited:\n" + "\n".join(seen[-30:])
            seen.append(line)
        banner_at = len(seen)
        # The banner says the site answers, and it does.
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        # A few seconds of a running stack (beat ticks every 2 s): nothing routine reaches the terminal.
        time.sleep(8)
        while not printed.empty():
            line = printed.get()
            if line is not None:
                seen.append(line)
        # After the banner, only the access log (here: our own requests) may show.
        after = [line for line in seen[banner_at:] if line.strip() and "web | " not in line]
        assert after == [], after
        assert any('"GET /healthz HTTP/1.1" 200' in line for line in seen[banner_at:]), seen[banner_at:]
        assert not any("beat:" in line.lower() or "Scheduler:" in line for line in seen), seen
        logs = tmp_path / "logs"
        for name in ("web", "worker", "beat", "smtp"):
            assert (logs / f"{name}.log").stat().st_size > 0, name
        assert "Scheduler: Sending due task" in (logs / "beat.log").read_text()
        # The demo letters owe no e-mail: the sink received none.
        mail = tmp_path / "mail"
        assert not mail.exists() or list(mail.iterdir()) == []
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 0
    assert any("Stopped." in line for line in seen + list(_drain(printed)))


def _drain(printed: queue.Queue):
    while not printed.empty():
        line = printed.get()
        if line is not None:
            yield line
