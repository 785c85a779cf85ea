"""The portal's mandate pages: the mailbox switcher, and listing, granting and revoking mandates.

Views validate with forms and call mandates.services; who may grant is decided there.
"""

from __future__ import annotations

from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from citizens import services as citizen_services
from citizens.views import current_access
from mandates import selectors, services
from mandates.forms import GrantForm
from mandates.models import Mandate


@login_required
@require_POST
def switch_mailbox(request):
    """Make another eBox (one the person holds a live mandate for, or their own) the current one."""
    access = current_access(request)
    try:
        wanted = int(request.POST.get("mailbox", ""))
    except ValueError:
        wanted = 0
    target = selectors.access_to(access.person, wanted)
    if target is None:
        notices.error(request, _("You have no access to that eBox."))
        return redirect("citizens:inbox")
    request.session[selectors.SESSION_KEY] = target.mailbox.pk
    if target.mandate is not None:
        citizen_services.mailbox_opened(target.mailbox)
    notices.success(request, _("You are now in the eBox of %(name)s.") % {"name": target.mailbox.display_name})
    return redirect("citizens:inbox")


def _page(request, form: GrantForm | None = None, status: int = 200):
    access = current_access(request)
    may_grant = selectors.may_grant(access.person, access.mailbox)
    if may_grant and form is None:
        form = GrantForm(enterprise=access.mailbox.is_enterprise)
    return render(
        request,
        "mandates/mandates.html",
        {
            "access": access,
            "mailbox": access.mailbox,
            "may_grant": may_grant,
            "form": form if may_grant else None,
            "given": list(selectors.mandates_given(access.mailbox)) if may_grant or access.is_own else [],
            "held": list(selectors.active_mandates_held(access.person)),
        },
        status=status,
    )


@login_required
@require_GET
def mandates_page(request):
    return _page(request)


@login_required
@require_POST
def grant(request):
    access = current_access(request)
    if not selectors.may_grant(access.person, access.mailbox):
        notices.error(request, _("You may not grant mandates for this eBox."))
        return redirect("mandates:list")
    form = GrantForm(request.POST, enterprise=access.mailbox.is_enterprise)
    if form.is_valid():
        try:
            mandate = services.grant(
                access.mailbox,
                form.cleaned_data["national_number"],
                role=form.cleaned_data["role"],
                scope=form.cleaned_data["scope"],
                valid_until=form.cleaned_data["valid_until"],
                granted_by=access.person,
            )
        except services.MandateRefused as exc:
            form.add_error("national_number", str(exc))
        else:
            notices.success(
                request,
                _("%(name)s may now open this eBox.") % {"name": mandate.representative.display_name},
            )
            return redirect("mandates:list")
    return _page(request, form, status=400)


@login_required
@require_POST
def revoke(request, mandate_id: int):
    access = current_access(request)
    mandate = Mandate.objects.select_related("owner", "representative").filter(pk=mandate_id).first()
    # Only mandates on the current eBox, or held by the person (renouncing): others are not there.
    if mandate is None or (mandate.owner_id != access.mailbox.pk and mandate.representative_id != access.person.pk):
        raise Http404(_("No such mandate."))
    try:
        services.revoke(mandate, by=access.person)
    except services.MandateRefused as exc:
        notices.error(request, str(exc))
    else:
        notices.success(
            request, _("The mandate of %(name)s is revoked.") % {"name": mandate.representative.display_name}
        )
    return redirect("mandates:list")
