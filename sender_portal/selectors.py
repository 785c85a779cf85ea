"""Queries of the sender portal: roles, recipients and their channel, API applications, replies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from audit.models import AuditEntry
from citizens.models import Citizen
from citizens.selectors import channel_for
from ebox.identifiers import normalise_enterprise_number, normalise_national_number
from messages.models import Reply
from sender_portal.models import SenderRole
from senders.models import Organisation, SenderApplication


def active_roles(person: Citizen | None) -> QuerySet[SenderRole]:
    if person is None:
        return SenderRole.objects.none()
    return SenderRole.objects.filter(person=person, revoked_at__isnull=True)


def organisations_of(person: Citizen | None) -> list[Organisation]:
    """The organisations this person works for (any role), by enterprise number."""
    ids = active_roles(person).values_list("organisation_id", flat=True)
    return list(Organisation.objects.filter(id__in=ids).order_by("enterprise_number"))


def roles_in(person: Citizen | None, organisation: Organisation) -> set[str]:
    return set(active_roles(person).filter(organisation=organisation).values_list("role", flat=True))


def team(organisation: Organisation) -> QuerySet[SenderRole]:
    """The organisation's active roles, person by person."""
    return (
        SenderRole.objects.filter(organisation=organisation, revoked_at__isnull=True)
        .select_related("person", "person__user")
        .order_by("person__national_number", "role")
    )


def recipient(organisation: Organisation, raw: str) -> tuple[str, str, str]:
    """A typed recipient number → (recipient type, compact number, channel the letter will take).

    11 digits: a national register or BIS number (a citizen); 10 digits: an enterprise number.
    The channel is citizens.selectors.channel_for, the one rule publication follows.
    Raises ValidationError for a number that is neither.
    """
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) == 10:
        kind, number = "enterprise", normalise_enterprise_number(digits)
    elif len(digits) == 11:
        kind, number = "citizen", normalise_national_number(digits)
    else:
        raise ValidationError("not a national, BIS or enterprise number")
    citizen = Citizen.objects.filter(national_number=number).first()
    return kind, number, channel_for(citizen, organisation)


def applications(organisation: Organisation) -> list[dict]:
    """The organisation's sender applications (not the portal's own) with their last use: the newest
    audit entry of their client (the audit trail records every API call; indexed by actor)."""
    found = []
    for application in (
        SenderApplication.objects.filter(organisation=organisation)
        .exclude(application_id=f"portal-{organisation.enterprise_number}")
        .select_related("oauth_application")
        .order_by("revoked_at", "application_id")
    ):
        oauth = application.oauth_application
        last = None
        if oauth is not None:
            last = (
                AuditEntry.objects.filter(actor=f"client:{oauth.client_id}")
                .order_by("-at")
                .values_list("at", flat=True)
                .first()
            )
        found.append({"application": application, "client_id": oauth.client_id if oauth else "", "last_used": last})
    return found


def replies(organisation: Organisation, *, show: str = "open", person: Citizen | None = None):
    """The organisation's replies, newest first: `open` (not handled), `mine` (assigned to `person`),
    `handled`, or `all`."""
    found = Reply.objects.filter(sender_organisation=organisation).select_related(
        "citizen", "message", "message__message_type", "sender_organisation", "handling", "handling__assigned_to"
    )
    if show == "open":
        found = found.filter(Q(handling__isnull=True) | Q(handling__handled_at__isnull=True))
    elif show == "handled":
        found = found.filter(handling__handled_at__isnull=False)
    elif show == "mine":
        found = found.filter(handling__assigned_to=person, handling__handled_at__isnull=True)
    return found.order_by("-created_at", "-id")


def reply_readers(organisation: Organisation) -> list[Citizen]:
    """Colleagues a reply can be assigned to."""
    ids = SenderRole.objects.filter(
        organisation=organisation, role__in=["administrator", "replies"], revoked_at__isnull=True
    ).values_list("person_id", flat=True)
    return list(Citizen.objects.filter(id__in=ids).select_related("user").order_by("national_number"))
