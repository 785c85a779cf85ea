"""Queries about citizens."""

from __future__ import annotations

import datetime as dt

from citizens.models import Citizen
from messages.models import Message
from senders.models import Organisation


def channel_for(citizen: Citizen | None, organisation: Organisation, on: dt.date | None = None) -> str:
    """How a letter from `organisation` reaches `citizen`: paper, digital_and_paper or digital."""
    if citizen is None or not citizen.is_activated:
        return Message.Channel.PAPER
    if organisation.in_paper_transition(on):
        return Message.Channel.DIGITAL_AND_PAPER
    return Message.Channel.DIGITAL


def citizens_by_number(numbers: list[str]) -> dict[str, Citizen]:
    return {c.national_number: c for c in Citizen.objects.filter(national_number__in=numbers)}


def available_messages(citizen: Citizen):
    """A citizen's messages they may see: sealed (available), any visibility, newest first."""
    return (
        Message.objects.filter(citizen=citizen, status=Message.Status.SEALED)
        .select_related("content", "sender_organisation", "sender_application", "message_type")
        .order_by("-received_at", "-id")
    )


def active_grant(citizen: Citizen, partner) -> object | None:
    from citizens.models import PartnerGrant

    return PartnerGrant.objects.filter(citizen=citizen, partner=partner, revoked_at=None).first()


def search_messages(messages, q: str, language: str) -> list[Message]:
    """Messages whose subject or body, in `language`, contains `q` (case-insensitive).

    Content is encrypted at rest, so the search decrypts this one citizen's messages: a
    citizen holds hundreds of messages, not millions, and no plaintext index ever exists.
    """
    from messages.services import decrypt_text

    needle = q.casefold()
    found = []
    for message in messages:
        text = decrypt_text(message.content)
        haystack = (text.subject or {}).get(language, "") + "\n" + (text.body or {}).get(language, "")
        if needle in haystack.casefold():
            found.append(message)
    return found
