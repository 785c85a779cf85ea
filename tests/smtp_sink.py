"""A real SMTP server for tests (aiosmtpd) that keeps what it receives, and can misbehave on purpose."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    rcpt: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # Reply with this instead of 250 (e.g. "550 5.1.1 no such user").
    reject_with: str | None = None
    # Recipients refused at RCPT with a 550.
    refused: set[str] = field(default_factory=set)
    # Store the first message, then drop the connection without replying.
    drop_after_first: bool = False
    # Store the first message, then hold the reply until this event is set (a "slow 250").
    hold_first: threading.Event | None = None
    # Seconds each accepted message waits before its 250 (a slow server, so a crash lands mid-batch).
    delay: float = 0.0
    # Advertise PIPELINING (RFC 2920), as Postfix and most relays do: the sender then pipelines.
    # aiosmtpd reads pipelined commands correctly but does not advertise them itself.
    pipelining: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:  # noqa: N802
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.reject_with:
            return self.reject_with
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), envelope.original_content or envelope.content))
            first = len(self.received) == 1
        if first and self.drop_after_first:
            server.transport.close()
            return "250 OK"  # never reaches the client
        if first and self.hold_first is not None:
            while not self.hold_first.is_set():
                await asyncio.sleep(0.05)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


class Sink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.handler = Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt]
