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
