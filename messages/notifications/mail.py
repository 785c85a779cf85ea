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


def personalise(rendered: Rendered, to: str, notification_id: int) -> bytes:
    """The bytes of the e-mail for one recipient. Raises UnicodeEncodeError for a non-ASCII address."""
    headers = (
        f"To: {to}\r\nDate: {email.utils.formatdate(usegmt=True)}\r\nMessage-ID: <{message_id(notification_id)}>\r\n"
    )
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
        if self.connection is None:
            self.open()
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        body_sent = False
        try:
            self._start_transaction(to)
            self.connection.send(body + b".\r\n")
            body_sent = True
            code, reply = self.connection.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            error = _classify(exc)
            if isinstance(error, ConnectionLost):
                self._drop()
                if body_sent:
                    # The server has the whole message and may have queued it: it is sent again
                    # (same Message-ID) and counted as a possible duplicate (sending._record).
                    raise Uncertain(f"connection lost before the reply to the end of the message: {error}") from exc
            raise error from exc
        if code != 250:
            raise _classify(smtplib.SMTPDataError(code, reply))

    def _start_transaction(self, to: str) -> None:
        """MAIL, RCPT, DATA up to the 354. With PIPELINING (RFC 2920) the three go in one packet:
        two round trips per e-mail instead of four."""
        connection = self.connection
        if self.pipelining:
            connection.send(f"MAIL FROM:<{self.sender}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii"))
            mail_reply, rcpt_reply, data_reply = (connection.getreply() for _ in range(3))
        else:
            mail_reply = connection.mail(self.sender)
            rcpt_reply = connection.rcpt(to) if mail_reply[0] == 250 else (503, b"")
            data_reply = connection.docmd("DATA") if rcpt_reply[0] in (250, 251) else (503, b"")
        if data_reply[0] == 354:
            return
        connection.rset()
        if mail_reply[0] != 250:
            raise smtplib.SMTPSenderRefused(*mail_reply, self.sender)
        if rcpt_reply[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: rcpt_reply})
        raise smtplib.SMTPDataError(*data_reply)

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
