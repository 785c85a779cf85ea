"""State changes of the sender portal's access: granting and revoking roles, and the audit entry
every portal action leaves with the civil servant's identity and role."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from citizens.models import Citizen
from citizens.services import citizen_for_number
from ebox.identifiers import normalise_national_number
from sender_portal.models import SenderRole
from senders.models import Organisation

OPERATOR = "operator"


@dataclass
class CivilServant:
    """The person acting in the portal, for the organisation currently chosen, with their roles there."""

    person: Citizen
    organisation: Organisation
    roles: set[str] = field(default_factory=set)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def actor(self) -> str:
        """How the audit trail names them: the citizen's keyed hash, the organisation and the roles."""
        roles = ",".join(sorted(self.roles))
        return f"{audit.citizen_actor(self.person.national_number)} org:{self.organisation.enterprise_number} roles:{roles}"


def actor_of(by: CivilServant | None) -> str:
    return by.actor if by is not None else OPERATOR


def record(by: CivilServant | None, action: str, ids: Iterable[object] = ()) -> None:
    """One audit entry for a portal action (inside the action's transaction: both or neither)."""
    audit.record(method="POST", url=f"sender-portal:{action}", status_code=200, actor=actor_of(by), ids=list(ids))


@transaction.atomic
def grant_role(
    organisation: Organisation, national_number: str, role: str, *, by: CivilServant | None = None
) -> SenderRole:
    """Give `role` in `organisation` to the person with this national number (registered on first sight).

    `by` is the administrator who grants it (None: an operator). Granting a role held already returns it.
    Raises ValidationError for an invalid number, an unknown role or an enterprise's number.
    """
    if role not in SenderRole.Role.values:
        raise ValidationError(_("Unknown role."))
    if by is not None and (by.organisation.pk != organisation.pk or not by.has(SenderRole.Role.ADMINISTRATOR)):
        raise ValidationError(_("Only an administrator of this organisation can give roles."))
    person = citizen_for_number(normalise_national_number(national_number))
    if person.kind != Citizen.Kind.PERSON:
        raise ValidationError(_("Roles are given to persons, not to enterprises."))
    existing = SenderRole.objects.filter(
        organisation=organisation, person=person, role=role, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    granted = SenderRole.objects.create(organisation=organisation, person=person, role=role, granted_by=actor_of(by))
    record(by, "grant_role", [f"sender_role:{granted.pk}", f"organisation:{organisation.enterprise_number}"])
    return granted


@transaction.atomic
def revoke_role(sender_role: SenderRole, *, by: CivilServant | None = None) -> None:
    """End a role at once (the next request of that person is refused). An administrator cannot remove
    the organisation's last administrator: someone must remain who can give roles."""
    if by is not None and (
        by.organisation.pk != sender_role.organisation_id or not by.has(SenderRole.Role.ADMINISTRATOR)
    ):
        raise ValidationError(_("Only an administrator of this organisation can remove roles."))
    if sender_role.revoked_at is not None:
        return
    if by is not None and sender_role.role == SenderRole.Role.ADMINISTRATOR:
        others = SenderRole.objects.filter(
            organisation_id=sender_role.organisation_id, role=SenderRole.Role.ADMINISTRATOR, revoked_at__isnull=True
        ).exclude(pk=sender_role.pk)
        if not others.exists():
            raise ValidationError(_("The organisation needs at least one administrator."))
    sender_role.revoked_at = timezone.now()
    sender_role.save(update_fields=["revoked_at"])
    record(
        by,
        "revoke_role",
        [f"sender_role:{sender_role.pk}", f"organisation:{sender_role.organisation.enterprise_number}"],
    )
