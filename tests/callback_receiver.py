"""A real HTTP receiver for sender callbacks: a `http.server` thread on a free port that records
every request, answers with scripted status codes, can hang on purpose, and can be stopped and
started again on the same port (a receiver that is down, then back)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.smtp_sink import free_port


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int  # the status code this request got

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.tls = tls  # serve https with this context
        self.host = host  # the name in the URL
        self.port = free_port()
        self.requests: list[Request] = []
        self.script: list[int] = []  # status codes for the next requests, then 200
        self.hang = threading.Event()  # set: requests wait until `release` is set
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/ebox/callbacks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hang.is_set():
                    receiver.requests.append(Request(self.path, dict(self.headers), body, 0))
                    receiver.release.wait(30)
                    return
                with receiver._lock:
                    code = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append(Request(self.path, dict(self.headers), body, code))
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Request]:
        """The requests answered with a 2xx."""
        return [r for r in list(self.requests) if 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 30, poke=None) -> list[Request]:
        """Wait until `count` requests were answered with a 2xx (`poke` is called meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.delivered()) < count:
            if poke:
                poke()
            time.sleep(0.2)
        return self.delivered()
