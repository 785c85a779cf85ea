"""Granting and revoking mandates, in the portal and from the import of the official register.

Who may grant what:
- a person grants *chosen delegates* on their own eBox;
- for an enterprise, a representative with manage scope (its director from the register, or a
  delegate given manage scope) grants *delegates* (an accountant, an employee);
- directors, parents and guardians come only from the register import (`import_mandates`).
A parent's mandate, and a guardian's for a minor, ends by itself on the child's 18th birthday.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from citizens.models import Citizen
from citizens.services import citizen_for_number
from ebox.identifiers import birth_date
from mandates import selectors
from mandates.models import Mandate
from mandates.register import read_register

REGISTER_ROLES = {Mandate.Role.DIRECTOR, Mandate.Role.PARENT, Mandate.Role.GUARDIAN}


class MandateRefused(Exception):
    """The mandate breaks a rule; the message says which, in the reader's language."""


def eighteenth_birthday(national_number: str) -> dt.date | None:
    born = birth_date(national_number)
    if born is None:
        return None
    try:
        return born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February
        return dt.date(born.year + 18, 3, 1)


def end_for(owner: Citizen, role: str, valid_from: dt.date, valid_until: dt.date | None) -> dt.date | None:
    """The mandate's end: as asked, but never after a minor's 18th birthday for a parent or guardian."""
    if role not in (Mandate.Role.PARENT, Mandate.Role.GUARDIAN) or owner.is_enterprise:
        return valid_until
    adult_on = eighteenth_birthday(owner.national_number)
    if adult_on is None or (role == Mandate.Role.GUARDIAN and adult_on <= valid_from):
        return valid_until  # a guardian of an adult ward: no age limit
    return adult_on if valid_until is None else min(valid_until, adult_on)


def check_parties(owner: Citizen, representative: Citizen, role: str) -> None:
    if representative.is_enterprise:
        raise MandateRefused(_("A representative is a person: enter a national register number."))
    if representative.pk == owner.pk:
        raise MandateRefused(_("You cannot give a mandate to yourself."))
    enterprise_roles = {Mandate.Role.DIRECTOR, Mandate.Role.DELEGATE}
    if owner.is_enterprise != (role in enterprise_roles):
        raise MandateRefused(_("This role does not exist for this kind of eBox."))


@transaction.atomic
def grant(
    owner: Citizen,
    representative_number: str,
    *,
    role: str,
    scope: str,
    granted_by: Citizen,
    valid_until: dt.date | None = None,
) -> Mandate:
    """A mandate granted in the portal by `granted_by` (who must be allowed to, see the module's rules)."""
    today = timezone.localdate()
    if not selectors.may_grant(granted_by, owner, today):
        raise MandateRefused(_("You may not grant mandates for this eBox."))
    if role in REGISTER_ROLES:
        raise MandateRefused(_("Directors, parents and guardians come from the official register."))
    if valid_until is not None and valid_until <= today:
        raise MandateRefused(_("The end date must be after today."))
    representative = citizen_for_number(representative_number)
    check_parties(owner, representative, role)
    if Mandate.objects.active(today).filter(owner=owner, representative=representative).exists():
        raise MandateRefused(_("This person already holds a mandate for this eBox: revoke it first."))
    return Mandate.objects.create(
        owner=owner,
        representative=representative,
        role=role,
        scope=scope,
        valid_from=today,
        valid_until=end_for(owner, role, today, valid_until),
        granted_by=granted_by,
    )


@transaction.atomic
def revoke(mandate: Mandate, *, by: Citizen | None) -> Mandate:
    """End a mandate now. `by` is the owner, a manager of the enterprise, or the representative
    renouncing it; None is an operator. Mandates from the register are ended only by operators."""
    mandate = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if mandate.revoked_at is not None:
        return mandate
    if by is not None and (
        mandate.granted_by_register  # the register's own: it ends there (import), or by an operator
        or (by.pk != mandate.representative_id and not selectors.may_grant(by, mandate.owner))
    ):
        raise MandateRefused(_("You may not revoke this mandate."))
    mandate.revoked_at = timezone.now()
    mandate.revoked_by = by
    mandate.save(update_fields=["revoked_at", "revoked_by"])
    return mandate


def register_mandate(
    owner_number: str,
    representative_number: str,
    *,
    role: str,
    scope: str,
    valid_from: dt.date,
    valid_until: dt.date | None,
    owner_name: str = "",
    representative_name: str = "",
) -> tuple[Mandate, bool]:
    """One mandate from the official register (the caller holds the transaction): (mandate, created).

    Idempotent: an unrevoked mandate with the same owner, representative and role is updated in place.
    """
    owner = citizen_for_number(owner_number)
    kind = Citizen.Kind.ENTERPRISE if len(owner_number) == 10 else Citizen.Kind.PERSON
    changed = [f for f, v in (("kind", kind), ("name", owner_name or owner.name)) if getattr(owner, f) != v]
    if changed:
        owner.kind, owner.name = kind, owner_name or owner.name
        owner.save(update_fields=changed)
    representative = citizen_for_number(representative_number)
    if representative_name and not representative.name:
        representative.name = representative_name
        representative.save(update_fields=["name"])
    check_parties(owner, representative, role)
    values = {"scope": scope, "valid_from": valid_from, "valid_until": end_for(owner, role, valid_from, valid_until)}
    if values["valid_until"] is not None and values["valid_until"] <= valid_from:
        raise MandateRefused(_("The mandate would end before it starts (the child is 18 by then)."))
    mandate = Mandate.objects.filter(
        owner=owner, representative=representative, role=role, revoked_at__isnull=True
    ).first()
    if mandate is None:
        return Mandate.objects.create(owner=owner, representative=representative, role=role, **values), True
    if any(getattr(mandate, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(mandate, k, v)
        mandate.save(update_fields=list(values))
    return mandate, False


class RegisterRefused(Exception):
    """The register file has errors (each "line N: …"); nothing was imported."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def import_register(text: str) -> tuple[int, int]:
    """Import a register file (mandates.register's CSV): (created, already there or updated).

    Every row is validated first, then all are stored in one transaction: a file with any error,
    or a row the rules refuse, stores nothing. Importing the same file again changes nothing.
    """
    rows, errors = read_register(text)
    if errors:
        raise RegisterRefused(errors)
    created = kept = 0
    with transaction.atomic():
        for row in rows:
            try:
                _mandate, new = register_mandate(
                    row.owner_number,
                    row.representative_number,
                    role=row.role,
                    scope=row.scope,
                    valid_from=row.valid_from,
                    valid_until=row.valid_until,
                    owner_name=row.owner_name,
                    representative_name=row.representative_name,
                )
            except MandateRefused as exc:  # rolls back every row stored before it
                raise RegisterRefused([f"line {row.line}: {exc}"]) from exc
            created, kept = created + new, kept + (not new)
    return created, kept
