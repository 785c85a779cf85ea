"""State changes of citizens: registration on first sight, activation, deactivation."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from citizens.models import ActivationChange, Citizen


def citizen_for_number(national_number: str) -> Citizen:
    """The citizen with this (valid, compact) number, created on first sight, never activated by this."""
    citizen, _ = Citizen.objects.get_or_create(national_number=national_number)
    return citizen


def citizens_for_numbers(numbers: list[str]) -> dict[str, Citizen]:
    """Like citizen_for_number for many numbers, in two queries (campaigns)."""
    numbers = list(dict.fromkeys(numbers))
    Citizen.objects.bulk_create([Citizen(national_number=n) for n in numbers], ignore_conflicts=True)
    return {c.national_number: c for c in Citizen.objects.filter(national_number__in=numbers)}


@transaction.atomic
def activate(citizen: Citizen, *, email: str, language: str, actor: str = "citizen") -> Citizen:
    """The explicit choice for digital mail. The e-mail address still has to be verified."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    now = timezone.now()
    if citizen.email != email:
        citizen.email = email
        citizen.email_verified_at = None
    citizen.preferred_language = language
    if citizen.activated_at is None:
        citizen.activated_at = now
        ActivationChange.objects.create(
            citizen=citizen, kind=ActivationChange.Kind.ACTIVATED, actor=actor, detail={"language": language}
        )
    citizen.save()
    return citizen


@transaction.atomic
def deactivate(citizen: Citizen, *, actor: str = "citizen") -> Citizen:
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.activated_at is not None:
        citizen.activated_at = None
        citizen.save(update_fields=["activated_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.DEACTIVATED, actor=actor)
    return citizen


@transaction.atomic
def verify_email(citizen: Citizen, email: str) -> bool:
    """Mark `email` verified if it is still the citizen's address (the link may be stale)."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.email != email:
        return False
    if citizen.email_verified_at is None:
        citizen.email_verified_at = timezone.now()
        citizen.save(update_fields=["email_verified_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.EMAIL_VERIFIED)
    return True
