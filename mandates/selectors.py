"""Queries about mandates: whose eBoxes a person may open, and the mailbox a portal request acts on.

The current mailbox is kept in the session by its id only; every request checks it again against
the live mandates (a revoked or expired mandate ends access on the next request).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from citizens.models import Citizen
from mandates.models import Mandate

SESSION_KEY = "ebox_mailbox"


@dataclass(frozen=True)
class MailboxAccess:
    """The mailbox a request acts on, the person acting, and the mandate they act under (None: their own)."""

    mailbox: Citizen
    person: Citizen
    mandate: Mandate | None

    @property
    def manages(self) -> bool:
        return self.mandate is None or self.mandate.manages

    @property
    def is_own(self) -> bool:
        return self.mandate is None


def active_mandates_held(person: Citizen, on: dt.date | None = None):
    """The person's active mandates, manage scope first, owners by name."""
    return (
        Mandate.objects.active(on)
        .filter(representative=person)
        .select_related("owner", "owner__user")
        .order_by("owner__kind", "owner__name", "owner_id", "-scope")
    )


def mailbox_choices(person: Citizen, on: dt.date | None = None) -> list[MailboxAccess]:
    """The person's own eBox first, then each eBox they hold an active mandate for (the widest one)."""
    choices = [MailboxAccess(person, person, None)]
    seen = {person.pk}
    for mandate in active_mandates_held(person, on):
        if mandate.owner_id in seen:  # ordered manage scope first: the widest mandate is kept
            continue
        seen.add(mandate.owner_id)
        choices.append(MailboxAccess(mandate.owner, person, mandate))
    return choices


def access_to(person: Citizen, mailbox_id: int, on: dt.date | None = None) -> MailboxAccess | None:
    """The person's access to that mailbox now (own, or under an active mandate), or None."""
    if mailbox_id == person.pk:
        return MailboxAccess(person, person, None)
    mandate = active_mandates_held(person, on).filter(owner_id=mailbox_id).order_by("-scope", "-created_at").first()
    # "read_and_manage" sorts after "read": -scope puts the manage mandate first.
    return MailboxAccess(mandate.owner, person, mandate) if mandate else None


def current_access(request) -> MailboxAccess | None:
    """The mailbox this portal request acts on, checked against live mandates (None: no eBox).

    A mailbox whose mandate ended since the last request falls back to the person's own eBox
    (and is dropped from the session): the representative no longer sees any of it.
    """
    person = getattr(request.user, "citizen", None) if request.user.is_authenticated else None
    if person is None:
        return None
    wanted = request.session.get(SESSION_KEY)
    if wanted and wanted != person.pk:
        access = access_to(person, wanted)
        if access is not None:
            return access
        request.session.pop(SESSION_KEY, None)
        request.mandate_ended = True
    return MailboxAccess(person, person, None)


def may_grant(person: Citizen, owner: Citizen, on: dt.date | None = None) -> bool:
    """Whether `person` may grant and revoke mandates on `owner`'s eBox from the portal.

    A person for their own eBox (chosen delegates); for an enterprise, anyone holding an
    active mandate with manage scope (a director from the register, or a delegate they trusted so).
    """
    if owner.pk == person.pk:
        return not owner.is_enterprise
    if not owner.is_enterprise:
        return False
    return Mandate.objects.active(on).filter(owner=owner, representative=person, scope=Mandate.Scope.MANAGE).exists()


def mandates_given(owner: Citizen):
    """Every mandate on this eBox, active ones first (revoked and ended ones stay listed as history)."""
    return (
        Mandate.objects.filter(owner=owner)
        .select_related("representative", "representative__user", "granted_by", "granted_by__user")
        .order_by("revoked_at", "-created_at")
    )
