"""Rendering notification e-mails and handing them to SMTP.

An e-mail names the sending organisations, says how many messages wait (and whether one is
registered mail) and links to the portal: it never carries a subject, a body or an attachment.
Rendering is cached per (language, organisations, counts), so a campaign renders its templates
once and only the per-recipient headers change; one SMTP connection carries a whole batch.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache, lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, ngettext

from ebox.i18n import translate


@dataclass(frozen=True)
class Digest:
    """What one e-mail says: metadata only (the key of the rendering cache)."""

    kind: str
    language: str
    organisations: tuple[str, ...]
    message_count: int
    registered_count: int
    unread_registered_count: int = 0
    expiring_count: int = 0
    payment_due_count: int = 0


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    raw_template: bytes  # the MIME message without To, Date and Message-ID


def inbox_url() -> str:
    return f"{settings.PUBLIC_URL}/inbox/"


def organisation_names(names_by_language: list[dict], language: str) -> tuple[str, ...]:
    return tuple(sorted({translate(names, language) for names in names_by_language}))


def _subject(digest: Digest) -> str:
    if digest.kind == "reminder":
        return gettext("Reminder: messages are waiting in your eBox")
    if digest.registered_count:
        return gettext("Registered mail in your eBox")
    return ngettext("A new message in your eBox", "%(count)d new messages in your eBox", digest.message_count) % {
        "count": digest.message_count
    }


def render(digest: Digest) -> Rendered:
    """The subject, plain-text and HTML parts in the digest's language (cached)."""
    return _render(digest)


# Bounded: a worker meets a limited set of (language, senders, counts) combinations.
@lru_cache(maxsize=4096)
def _render(digest: Digest) -> Rendered:
    template = "emails/reminder" if digest.kind == "reminder" else "emails/new_mail"
    with translation.override(digest.language):
        context = {
            "digest": digest,
            "organisations": list(digest.organisations),
            "inbox_url": inbox_url(),
            "language": digest.language,
        }
        subject = _subject(digest)
        context["subject"] = subject
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = settings.DEFAULT_FROM_EMAIL
    # Tells mail servers and clients not to auto-reply (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = digest.language
    # To, Date and Message-ID differ per recipient: they are prepended to these bytes (see personalise).
    return Rendered(subject=subject, text=text, html=html, raw_template=message.as_bytes())


def clear_cache() -> None:
    _render.cache_clear()


@cache
def _message_id_domain() -> str:
    address = email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "ebox.invalid"


def message_id(notification_id: int) -> str:
    """Stable per notification (not per attempt): a re-sent copy carries the same Message-ID,
    so receivers that de-duplicate on it collapse the copies."""
    return f"notification.{notification_id}@{_message_id_domain()}"


def personalise(rendered: Rendered, to: str, notification_id: int, date: str | None = None) -> bytes:
    """The bytes of the e-mail for one recipient (`date`: the Date header, by default now; a
    batch formats it once). Raises UnicodeEncodeError for a non-ASCII address."""
    date = date or email.utils.formatdate(usegmt=True)
    headers = f"To: {to}\r\nDate: {date}\r\nMessage-ID: <{message_id(notification_id)}>\r\n"
    return headers.encode("ascii") + rendered.raw_template


# --- Transport -------------------------------------------------------------------


# Dot-stuffing (RFC 5321 4.5.2): a line starting with "." gets another one.
_LEADING_DOT = re.compile(rb"(?m)^\.")


class TransientError(Exception):
    """Try again later (4xx, connection refused or lost, timeout)."""


class PermanentError(Exception):
    """This e-mail will never be accepted (5xx for this recipient or message)."""


class ConnectionLost(TransientError):
    """The connection is gone: the e-mails not yet handed over must wait for another attempt."""


class Uncertain(ConnectionLost):
    """The connection was lost after the whole message was sent, before the server's reply."""


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        text = f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
        return PermanentError(text) if code >= 500 else TransientError(text)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our sender address refused: the platform's problem, not the citizen's; retry until fixed.
        return TransientError(f"sender refused: {exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        if exc.smtp_code == 421:
            return ConnectionLost(text)
        return PermanentError(text) if exc.smtp_code >= 500 else TransientError(text)
    return ConnectionLost(f"{type(exc).__name__}: {exc}")


def _data_block(data: bytes) -> bytes:
    """The message as sent after DATA's 354: dot-stuffed, CRLF-ended, then the lone dot."""
    body = _LEADING_DOT.sub(b"..", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _envelope_error(
    mail_reply: tuple, rcpt_reply: tuple, data_reply: tuple, *, sender: str, to: str
) -> Exception | None:
    """Why MAIL, RCPT and DATA did not end in a 354, as smtplib's exception; None when they did."""
    if data_reply[0] == 354:
        return None
    if mail_reply[0] != 250:
        return smtplib.SMTPSenderRefused(*mail_reply, sender)
    if rcpt_reply[0] not in (250, 251):
        return smtplib.SMTPRecipientsRefused({to: rcpt_reply})
    return smtplib.SMTPDataError(*data_reply)


def _uncertain(error: Exception) -> Uncertain:
    """The connection was lost with a message's end sent: the server may have it whole and have
    queued it, so it is sent again (same Message-ID) and counted as a possible duplicate (sending._record)."""
    return Uncertain(f"connection lost before the reply to the end of the message: {error}")


class SmtpTransport:
    """One SMTP connection for a batch, configured by EMAIL_URL (host, port, TLS, login)."""

    def __init__(self) -> None:
        self.connection: smtplib.SMTP | None = None
        self.pipelining = False
        self.sender = email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]

    def open(self) -> None:
        try:
            if getattr(settings, "EMAIL_USE_SSL", False):
                self.connection = smtplib.SMTP_SSL(
                    settings.EMAIL_HOST,
                    settings.EMAIL_PORT,
                    timeout=settings.EMAIL_TIMEOUT,
                    context=ssl.create_default_context(),
                )
            else:
                self.connection = smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.EMAIL_TIMEOUT)
                if getattr(settings, "EMAIL_USE_TLS", False):
                    self.connection.starttls(context=ssl.create_default_context())
            if settings.EMAIL_HOST_USER:
                self.connection.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
            self.connection.ehlo_or_helo_if_needed()
            self.pipelining = self.connection.has_extn("pipelining")
        except (smtplib.SMTPException, OSError) as exc:
            self.connection = None
            raise _classify(exc) from exc

    def send(self, to: str, data: bytes) -> None:
        """Hand one e-mail over; raises PermanentError, TransientError, ConnectionLost or Uncertain."""
        error = self.send_all([(to, data)])[0]
        if error is not None:
            raise error

    def send_all(self, items: Sequence[tuple[str, bytes]]) -> list[Exception | None]:
        """Hand e-mails over in order. For each: None (the server accepted it) or the error
        (PermanentError, TransientError, ConnectionLost, Uncertain). After a lost connection the
        rest are not handed over: they get a ConnectionLost with the same reason.

        With PIPELINING (RFC 2920) the end of each message travels in one packet with the next
        one's MAIL, RCPT and DATA: one round trip per e-mail instead of two (bench/notify.py)."""
        results: list[Exception | None] = [None] * len(items)
        if not items:
            return results
        if self.connection is None:
            try:
                self.open()
            except (PermanentError, TransientError) as exc:
                # The relay refused us (down, TLS, login): the platform's problem, never the citizen's.
                return self._lost_from(results, 0, ConnectionLost(f"could not open the SMTP connection: {exc}"))
        if not self.pipelining:
            for i, (to, data) in enumerate(items):
                try:
                    self._send_one(to, data)
                except ConnectionLost as exc:
                    results[i] = exc
                    return self._lost_from(results, i + 1, exc)
                except (PermanentError, TransientError) as exc:
                    results[i] = exc
            return results
        return self._send_pipelined(items, results)

    def _send_pipelined(self, items: Sequence[tuple[str, bytes]], results: list) -> list[Exception | None]:
        connection = self.connection
        pending: int | None = None  # the message whose end goes out with the next packet
        tail = b""
        # A last round with no envelope sends the last message's end and reads its reply.
        for i, item in enumerate([*items, None]):
            if item is None and pending is None:
                break
            envelope = f"MAIL FROM:<{self.sender}>\r\nRCPT TO:<{item[0]}>\r\nDATA\r\n".encode() if item else b""
            packet, tail = tail + envelope, b""
            try:
                connection.send(packet)
                if pending is not None:
                    code, reply = connection.getreply()
            except (smtplib.SMTPException, OSError) as exc:
                # `pending`'s end was on its way: the server may have it whole and have queued it.
                self._drop()
                error = _classify(exc)
                if pending is not None:
                    results[pending] = _uncertain(error)
                return self._lost_from(results, i, error)
            if pending is not None:
                results[pending] = None if code == 250 else _classify(smtplib.SMTPDataError(code, reply))
                if isinstance(results[pending], ConnectionLost):  # 421: the server is closing
                    self._drop()
                    return self._lost_from(results, i, results[pending])
                pending = None
            if item is None:
                break
            try:
                replies = [connection.getreply() for _ in range(3)]
                if replies[2][0] != 354:
                    connection.rset()
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                return self._lost_from(results, i, _classify(exc))
            error = _envelope_error(*replies, sender=self.sender, to=item[0])
            if error is not None:
                results[i] = _classify(error)
                if isinstance(results[i], ConnectionLost):
                    self._drop()
                    return self._lost_from(results, i + 1, results[i])
                continue
            pending, tail = i, _data_block(item[1])
        return results

    @staticmethod
    def _lost_from(results: list, start: int, error: Exception) -> list:
        for k in range(start, len(results)):
            results[k] = ConnectionLost(str(error))
        return results

    def _send_one(self, to: str, data: bytes) -> None:
        """Without PIPELINING: MAIL, RCPT, DATA, the message, each waiting for its reply."""
        body_sent = False
        try:
            connection = self.connection
            mail_reply = connection.mail(self.sender)
            rcpt_reply = connection.rcpt(to) if mail_reply[0] == 250 else (503, b"")
            data_reply = connection.docmd("DATA") if rcpt_reply[0] in (250, 251) else (503, b"")
            if data_reply[0] != 354:
                connection.rset()
                raise _envelope_error(mail_reply, rcpt_reply, data_reply, sender=self.sender, to=to)
            connection.send(_data_block(data))
            body_sent = True
            code, reply = connection.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            error = _classify(exc)
            if isinstance(error, ConnectionLost):
                self._drop()
                if body_sent:
                    raise _uncertain(error) from exc
            raise error from exc
        if code != 250:
            raise _classify(smtplib.SMTPDataError(code, reply))

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


class DjangoTransport:
    """Any other EMAIL_URL backend (console, file, memory): through Django's mail API, one by one."""

    def __init__(self) -> None:
        self.connection = get_connection()

    def open(self) -> None:
        self.connection.open()

    def send_rendered(self, rendered: Rendered, to: str, notification_id: int) -> None:
        message = EmailMultiAlternatives(
            rendered.subject,
            rendered.text,
            settings.DEFAULT_FROM_EMAIL,
            [to],
            headers={"Message-ID": f"<{message_id(notification_id)}>", "Auto-Submitted": "auto-generated"},
            connection=self.connection,
        )
        message.attach_alternative(rendered.html, "text/html")
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 - backends raise anything; all of it is "try again"
            raise TransientError(str(exc)) from exc

    def close(self) -> None:
        self.connection.close()


def transport() -> SmtpTransport | DjangoTransport:
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return SmtpTransport()
    return DjangoTransport()
