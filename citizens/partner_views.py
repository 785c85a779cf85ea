"""The consent page partner apps send citizens to (OAuth 2 authorization code with PKCE), and grants.

django-oauth-toolkit's AuthorizationView does the protocol; this subclass shows the consent
in the citizen's language, naming the app and what it may do, and records the citizen's
grant (listed in their settings, revocable) when they allow it.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from oauth2_provider.views import AuthorizationView

from citizens import services
from citizens.models import PartnerGrant
from ebox.security import safe_next


def _citizen(request):
    try:
        return request.user.citizen
    except (ObjectDoesNotExist, AttributeError):
        return None


class ConsentView(AuthorizationView):
    template_name = "citizens/consent.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and _citizen(request) is None:
            return HttpResponseForbidden(_("Only citizens can give a partner app access to an eBox."))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = context.get("application") or self.oauth2_data.get("application")
        partner = getattr(application, "partner_application", None) if application else None
        context["partner"] = partner
        context["partner_name"] = partner.display_name() if partner else getattr(application, "name", "")
        context["citizen"] = _citizen(self.request)
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.cleaned_data.get("allow") and response.status_code in (301, 302):
            from oauth2_provider.models import get_application_model

            application = get_application_model().objects.get(client_id=form.cleaned_data["client_id"])
            partner = getattr(application, "partner_application", None)
            if partner is not None and not partner.revoked_at and "code=" in response.get("Location", ""):
                services.grant_partner_access(_citizen(self.request), partner, form.cleaned_data["scope"].split())
        return response


@login_required
@require_POST
def revoke_grant(request, grant_id: int):
    citizen = _citizen(request)
    if citizen is None:
        raise Http404
    grant = get_object_or_404(PartnerGrant, pk=grant_id, citizen=citizen)
    services.revoke_partner_grant(grant)
    flash.success(request, _("%(app)s can no longer access your eBox.") % {"app": grant.partner.display_name()})
    # Only to one of our own pages: an attacker's `next` must not turn the portal into a redirector.
    return redirect(safe_next(request, reverse("partner-grants")))


@login_required
def grants(request):
    citizen = _citizen(request)
    if citizen is None:
        raise Http404
    return render(
        request,
        "citizens/partner_grants.html",
        {
            "grants": citizen.partner_grants.select_related("partner__oauth_application").filter(revoked_at=None),
        },
    )
