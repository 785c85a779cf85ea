"""Who may open a sender-portal page: `organisation_role_required(*roles)` puts the current organisation
(kept in the session, chosen with the switcher) and the person's roles there on the request, re-checked
against the database on every request, so a revoked role stops at once.

A logged-in person without a role in the current organisation gets 403 (citizens, civil servants of
another organisation); an anonymous visitor goes to the login page and comes back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from sender_portal import selectors
from sender_portal.services import CivilServant
from senders.models import Organisation

SESSION_KEY = "sender_portal_organisation"


def person_of(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, "citizen", None)  # a staff account without a citizen has no role


def current_organisation(request, person) -> Organisation | None:
    """The organisation chosen in this session, if the person still works for it; their first one if
    none was chosen. None (so 403) when the session names one they do not work for: a revoked role,
    or someone else's organisation; the choice is then forgotten, so the next page falls back."""
    organisations = selectors.organisations_of(person)
    chosen = request.session.get(SESSION_KEY)
    for organisation in organisations:
        if organisation.pk == chosen:
            return organisation
    if chosen is not None:
        del request.session[SESSION_KEY]
        return None
    if organisations:
        request.session[SESSION_KEY] = organisations[0].pk
        return organisations[0]
    return None


def choose_organisation(request, organisation_id: int) -> bool:
    """Switch the session to another organisation the person works for; False if they do not."""
    person = person_of(request)
    if any(o.pk == organisation_id for o in selectors.organisations_of(person)):
        request.session[SESSION_KEY] = organisation_id
        return True
    return False


def organisation_role_required(*roles: str) -> Callable:
    """The view needs one of `roles` in the current organisation (no roles given: any role).

    Sets `request.civil_servant` (CivilServant), `request.organisation` and `request.sender_roles`.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            person = person_of(request)
            organisation = current_organisation(request, person) if person is not None else None
            if organisation is None:
                raise PermissionDenied
            held = selectors.roles_in(person, organisation)
            if not held or (roles and not held.intersection(roles)):
                raise PermissionDenied
            request.civil_servant = CivilServant(person, organisation, held)
            request.organisation = organisation
            request.sender_roles = held
            request.sender_organisations = selectors.organisations_of(person)
            return view(request, *args, **kwargs)

        wrapped.sender_roles_required = roles
        return wrapped

    return decorator
