"""Queries of the sender portal: who holds which role where."""

from __future__ import annotations

from django.db.models import QuerySet

from citizens.models import Citizen
from sender_portal.models import SenderRole
from senders.models import Organisation


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
