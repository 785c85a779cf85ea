"""The sender portal's home, organisation switcher and team pages (access: sender_portal.access).

Views validate with forms and call services; sending, following, replies and API access have their
own view modules.
"""

from __future__ import annotations

from django.contrib import messages as notices
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sender_portal import access, selectors, services
from sender_portal.forms import InviteForm
from sender_portal.models import SenderRole

ADMIN = SenderRole.Role.ADMINISTRATOR


@access.organisation_role_required()
@require_GET
def home(request):
    labels = dict(SenderRole.Role.choices)
    roles = [labels[r] for r in SenderRole.Role.values if r in request.sender_roles]
    return render(request, "sender_portal/home.html", {"roles": roles})


@access.organisation_role_required()
@require_POST
def switch_organisation(request):
    try:
        chosen = int(request.POST.get("organisation", ""))
    except ValueError:
        chosen = None
    if chosen is None or not access.choose_organisation(request, chosen):
        raise PermissionDenied
    return redirect("sender_portal:home")


@access.organisation_role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def team(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_role(
                request.organisation,
                form.cleaned_data["national_number"],
                form.cleaned_data["role"],
                by=request.civil_servant,
            )
        except ValidationError as exc:
            form.add_error("national_number", exc)
        else:
            notices.success(request, _("The role was given. Your colleague can log in now."))
            return redirect("sender_portal:team")
    return render(request, "sender_portal/team.html", {"form": form, "team": selectors.team(request.organisation)})


@access.organisation_role_required(ADMIN)
@require_POST
def revoke_role(request, role_id: int):
    sender_role = get_object_or_404(SenderRole, pk=role_id, organisation=request.organisation, revoked_at__isnull=True)
    try:
        services.revoke_role(sender_role, by=request.civil_servant)
    except ValidationError as exc:
        notices.error(request, " ".join(exc.messages))
    else:
        notices.success(request, _("The role was removed."))
    return redirect("sender_portal:team")
