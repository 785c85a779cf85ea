"""Queries about citizens."""

from __future__ import annotations

import datetime as dt

from citizens.models import Citizen
from messages.models import Message
from senders.models import Organisation


def channel_for(citizen: Citizen | None, organisation: Organisation, on: dt.date | None = None) -> str:
    """How a letter from `organisation` reaches `citizen`: paper, digital_and_paper or digital.

    The one rule: digital only for an activated citizen whose e-mail address is verified
    (`Citizen.is_digital`); until then paper, as before activation.
    """
    if not reads_digitally(citizen):
        return Message.Channel.PAPER
    if organisation.in_paper_transition(on):
        return Message.Channel.DIGITAL_AND_PAPER
    return Message.Channel.DIGITAL


def reads_digitally(citizen: Citizen | None) -> bool:
    """Whether letters reach this citizen in eBox only (eboxPreferences' `exclusivelyEbox`)."""
    return citizen is not None and citizen.is_digital


def citizens_by_number(numbers: list[str]) -> dict[str, Citizen]:
    return {c.national_number: c for c in Citizen.objects.filter(national_number__in=numbers)}


def available_messages(citizen: Citizen):
    """A citizen's messages they may see: sealed (available), any visibility, newest first."""
    return (
        Message.objects.filter(citizen=citizen, status=Message.Status.SEALED)
        .select_related("content", "sender_organisation", "sender_application", "message_type", "citizen")
        .order_by("-received_at", "-id")
    )


def active_grant(citizen: Citizen, partner) -> object | None:
    from citizens.models import PartnerGrant

    return PartnerGrant.objects.filter(citizen=citizen, partner=partner, revoked_at=None).first()


# --- The inbox --------------------------------------------------------------------

# Searching decrypts: at most this many of the citizen's newest messages are searched.
SEARCH_LIMIT = 2000


def inbox_messages(
    citizen: Citizen,
    *,
    hidden: bool = False,
    organisation: int | None = None,
    message_type: int | None = None,
    unread: bool | None = None,
    registered: bool = False,
):
    """The citizen's available messages, newest first.

    `citizen_id = … AND status = 'sealed' ORDER BY received_at DESC` is exactly the
    `message_inbox` partial index, so the page costs a short index range scan whatever
    the size of the table (see bench/inbox.py).
    """
    qs = Message.objects.filter(citizen=citizen, status=Message.Status.SEALED, hidden_at__isnull=not hidden)
    if organisation:
        qs = qs.filter(sender_organisation_id=organisation)
    if message_type:
        qs = qs.filter(message_type_id=message_type)
    if unread is not None:
        qs = qs.filter(read_at__isnull=unread)
    if registered:
        qs = qs.filter(registered_mail=True)
    return qs.order_by("-received_at", "-id")


def inbox_counts(citizen: Citizen) -> dict[str, int]:
    """Visible, unread (visible) and archived counts, in one pass over the citizen's index range."""
    from django.db.models import Count, Q

    return Message.objects.filter(citizen=citizen, status=Message.Status.SEALED).aggregate(
        visible=Count("id", filter=Q(hidden_at__isnull=True)),
        unread=Count("id", filter=Q(hidden_at__isnull=True, read_at__isnull=True)),
        hidden=Count("id", filter=Q(hidden_at__isnull=False)),
    )


def inbox_facets(citizen: Citizen) -> tuple[list[Organisation], list]:
    """The organisations and message types that appear in the citizen's inbox (for the filters)."""
    from senders.models import MessageType

    mine = Message.objects.filter(citizen=citizen, status=Message.Status.SEALED)
    organisations = list(Organisation.objects.filter(id__in=mine.values("sender_organisation_id").distinct()))
    types = list(MessageType.objects.filter(id__in=mine.values("message_type_id").distinct()))
    return organisations, types


def citizen_message(citizen: Citizen, message_id) -> Message:
    """One of the citizen's own available messages; Message.DoesNotExist for anyone else's."""
    return Message.objects.select_related(
        "content", "sender_organisation", "sender_application", "message_type", "citizen"
    ).get(pk=message_id, citizen=citizen, status=Message.Status.SEALED)


def _subjects_and_bodies(messages: list[Message], with_body: bool) -> dict:
    """Decrypt subjects (and bodies) once per shared content; unreadable content maps to None."""
    import json

    from messages import crypto

    texts: dict = {}
    for message in messages:
        content = message.content
        if content.pk in texts:
            continue
        try:
            key = crypto.unwrap_key(content.kek_id, content.wrapped_key)
            subject = json.loads(crypto.decrypt_field(key, content.pk, "subject", content.subject_ct))
            body = None
            if with_body and content.body_ct is not None:
                body = json.loads(crypto.decrypt_field(key, content.pk, "body", content.body_ct))
            texts[content.pk] = (subject, body)
        except (crypto.DecryptionError, ValueError):
            texts[content.pk] = None  # shown as "content withheld"; the message page records the incident
    return texts


def _sealed_for(message: Message, citizen: Citizen | None) -> bool:
    # The list does not verify seals (the message page does, and records the incident); it only
    # refuses to show the subject of a row whose sealed recipient is not this mailbox's citizen.
    return citizen is None or message.is_addressed_to(citizen)


def with_subjects(messages: list[Message], citizen: Citizen | None = None) -> list[tuple[Message, str | None]]:
    """Each message of an inbox page with its subject in the active language (decrypted for display only);
    None ("content withheld") when it does not decrypt or is not addressed to `citizen`."""
    from ebox.i18n import translate

    texts = _subjects_and_bodies(messages, with_body=False)
    return [
        (m, translate(texts[m.content_id][0]) if texts[m.content_id] and _sealed_for(m, citizen) else None)
        for m in messages
    ]


def search_messages(messages, query: str, language: str) -> list[Message]:
    """The messages whose subject or body, in the language the citizen reads them, contain `query`.

    Content is encrypted at rest, so there is no plaintext index to ask. We decrypt this one
    citizen's newest SEARCH_LIMIT messages (a citizen has tens to hundreds; each decryption is
    a few microseconds of AES-GCM) and match in memory, case- and accent-insensitively. Any
    server-side index (even of hashed words) would leak content that the encryption protects.
    """
    import unicodedata

    from ebox.i18n import translate

    def fold(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    needle = fold(query)
    candidates = list(messages[:SEARCH_LIMIT])
    texts = _subjects_and_bodies(candidates, with_body=True)
    numbers = dict(
        Citizen.objects.filter(pk__in={m.citizen_id for m in candidates}).values_list("pk", "national_number")
    )
    found = []
    for message in candidates:
        text = texts[message.content_id]
        # Never match on the content of a message not sealed for the mailbox it sits in.
        if message.recipient_id != numbers.get(message.citizen_id):
            continue
        if text and needle in fold(translate(text[0], language) + "\n" + translate(text[1], language)):
            found.append(message)
    return found


def access_log(citizen: Citizen):
    """Who opened what of this citizen's, newest first (their own accesses and partner apps')."""
    from citizens.models import AccessLogEntry

    return AccessLogEntry.objects.filter(citizen=citizen).select_related(
        "message__sender_organisation", "message__message_type", "mandate"
    )
