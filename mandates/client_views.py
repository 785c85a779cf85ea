"""The "API clients" page of an enterprise eBox: a representative with manage scope lists, creates,
rotates and revokes the enterprise's own API clients (federation.services; secrets shown once).

Anyone else (a read-only representative, a person in their own eBox) gets 404: the page is not there
for them. Every request re-checks the mandate (mandates.selectors.current_access); the audit
middleware records each change, with the client id.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditEntry
from federation import selectors as federation_selectors
from federation import services as federation
from federation.models import EnterpriseApplication
from mandates import selectors


class ClientForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the client"),
        max_length=200,
        help_text=gettext_lazy("For example the name of your accounting software."),
    )


def _enterprise(request):
    """The enterprise eBox this request manages; 404 unless under a manage-scope mandate."""
    access = selectors.current_access(request)
    if access is None or access.is_own or not access.mailbox.is_enterprise or not access.manages:
        raise Http404(_("No API clients here."))
    return access.mailbox


def _audited(request, application: EnterpriseApplication) -> None:
    """The audit middleware records the POST; this names the client it changed."""
    request.audit_ids.append(application.oauth_application.client_id)


def _shown_once(request, application: EnterpriseApplication, secret: str, heading: str):
    _audited(request, application)
    return render(
        request,
        "mandates/api_client_secret.html",
        {
            "heading": heading,
            "application": application,
            "client_id": application.oauth_application.client_id,
            "secret": secret,
            "token_url": request.build_absolute_uri("/o/token/"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_list(request):
    enterprise = _enterprise(request)
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        application, secret = federation.create_enterprise_application(
            enterprise.national_number, form.cleaned_data["name"]
        )
        return _shown_once(request, application, secret, _("API client created"))
    clients = []
    for application in federation_selectors.enterprise_applications(enterprise).order_by("revoked_at", "-created_at"):
        client_id = application.oauth_application.client_id
        last = (
            AuditEntry.objects.filter(actor=f"client:{client_id}").order_by("-at").values_list("at", flat=True).first()
        )
        clients.append({"application": application, "client_id": client_id, "last_used": last})
    return render(
        request,
        "mandates/api_clients.html",
        {"form": form, "clients": clients, "mailbox": enterprise},
        status=400 if form.errors else 200,
    )


def _client(request, client_pk: int) -> EnterpriseApplication:
    return get_object_or_404(
        EnterpriseApplication.objects.select_related("oauth_application"),
        pk=client_pk,
        enterprise=_enterprise(request),
        revoked_at__isnull=True,
    )


@login_required
@require_POST
def client_rotate(request, client_pk: int):
    application = _client(request, client_pk)
    secret = federation.rotate_enterprise_application_secret(application)
    return _shown_once(request, application, secret, _("New client secret"))


@login_required
@require_POST
def client_revoke(request, client_pk: int):
    application = _client(request, client_pk)
    federation.revoke_enterprise_application(application)
    _audited(request, application)
    notices.success(request, _("The API client was revoked: its credentials and tokens stopped working."))
    return redirect("mandates:api_clients")
