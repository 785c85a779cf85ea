"""Queries for the sender API: an organisation's own messages, reference data, recipients' preferences.

An organisation only ever sees its own messages: every message query here filters on it.
"""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from citizens.models import Citizen
from messages.models import Message
from senders.models import MessageType, Organisation, SenderApplication


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return out


def organisation_message(organisation: Organisation, message_id: str) -> Message | None:
    ids = _uuids([message_id])
    if not ids:
        return None
    return (
        Message.objects.select_related("sender_application", "sender_organisation")
        .filter(id=ids[0], sender_organisation=organisation)
        .first()
    )


def organisation_messages(organisation: Organisation, message_ids: list[str]) -> dict[str, Message]:
    """The organisation's messages among `message_ids` (others' and unknown ids are simply absent)."""
    rows = Message.objects.filter(id__in=_uuids(message_ids), sender_organisation=organisation).only(
        "id",
        "recipient_type",
        "recipient_id",
        "expires_at",
        "read_at",
        "hidden_at",
        "status",
        "channel",
        "registered_mail",
    )
    return {str(m.id): m for m in rows}


def citizens_by_number(numbers: list[str]) -> dict[str, Citizen]:
    return {c.national_number: c for c in Citizen.objects.filter(national_number__in=numbers)}


def message_types() -> QuerySet[MessageType]:
    return MessageType.objects.select_related("organisation").prefetch_related(
        Prefetch("organisation__applications", queryset=SenderApplication.objects.filter(revoked_at__isnull=True))
    )


def sender_applications() -> QuerySet[SenderApplication]:
    return (
        SenderApplication.objects.filter(revoked_at__isnull=True)
        .select_related("organisation")
        .prefetch_related("organisation__message_types")
    )


def sender_organisations() -> QuerySet[Organisation]:
    return Organisation.objects.prefetch_related(
        Prefetch("applications", queryset=SenderApplication.objects.filter(revoked_at__isnull=True)), "message_types"
    )


def organisation_replies(organisation: Organisation) -> QuerySet:
    """The replies citizens sent to the organisation's messages, newest first (the index on
    (sender_organisation, -created_at) serves it)."""
    from messages.models import Reply

    return (
        Reply.objects.filter(sender_organisation=organisation)
        .select_related("citizen", "sender_organisation")
        .order_by("-created_at", "-id")
    )


def organisation_reply(organisation: Organisation, reply_id: str):
    """One of the organisation's replies, or None (another organisation's is indistinguishable from none)."""
    ids = _uuids([reply_id])
    if not ids:
        return None
    return organisation_replies(organisation).filter(id=ids[0]).first()


# The one image an organisation has (Organisation.logo): its imageId in the reference data, for the
# organisation and for each of its applications (applications have no logo of their own).
LOGO_IMAGE_ID = "logo"
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))
MAX_LOGO_BYTES = 2 * 1024 * 1024


def logo_media_type(head: bytes) -> str | None:
    """The image type from the file's first bytes (never from its name), None when it is no image we serve."""
    for signature, media_type in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return media_type
    if b"<svg" in head[:1024].lower():
        return "image/svg+xml"
    return None


def organisation_logo(organisation: Organisation) -> tuple[bytes, str] | None:
    """The logo's bytes and media type, or None when the organisation has none (or an unreadable one)."""
    if not organisation.logo:
        return None
    try:
        with organisation.logo.open("rb") as file:
            data = file.read(MAX_LOGO_BYTES + 1)
    except OSError:
        return None
    media_type = logo_media_type(data[:1024])
    if media_type is None or len(data) > MAX_LOGO_BYTES:
        return None
    return data, media_type
