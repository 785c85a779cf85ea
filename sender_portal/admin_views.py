"""API access pages for an organisation's administrators: create, rotate and revoke sender applications.
A new client secret is shown once, on the page that answers the POST (never stored in clear)."""

from __future__ import annotations

from django import forms
from django.contrib import messages as notices
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from sender_portal import access, selectors
from sender_portal.models import SenderRole
from sender_portal.services import applications
from senders.callbacks import selectors as callback_selectors
from senders.models import SenderApplication

ADMIN = SenderRole.Role.ADMINISTRATOR


class ApplicationForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the application"),
        max_length=80,
        help_text=gettext_lazy("For example the name of the online service that will send letters."),
    )


class CallbackForm(forms.Form):
    # A CharField: the callbacks' own validation (senders.callbacks.configuration) decides what is allowed.
    url = forms.CharField(
        label=gettext_lazy("Callback URL"),
        max_length=500,
        help_text=gettext_lazy("An https address of your service, reachable from the internet."),
        widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url"}),
    )


def _shown_once(request, issued, heading: str):
    """The page with the new credentials; no-store (ebox.headers) so it is not cached."""
    return render(
        request,
        "sender_portal/credentials.html",
        {"issued": issued, "heading": heading, "token_url": request.build_absolute_uri("/o/token/")},
    )


@access.organisation_role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def application_list(request):
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = applications.create(form.cleaned_data["name"], request.civil_servant)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            return _shown_once(request, issued, _("Application created"))
    return render(
        request,
        "sender_portal/applications.html",
        {"form": form, "applications": selectors.applications(request.organisation)},
    )


def _application(request, application_id: int) -> SenderApplication:
    return get_object_or_404(
        SenderApplication, pk=application_id, organisation=request.organisation, revoked_at__isnull=True
    )


@access.organisation_role_required(ADMIN)
@require_POST
def application_rotate(request, application_id: int):
    issued = applications.rotate(_application(request, application_id), request.civil_servant)
    return _shown_once(request, issued, _("New client secret"))


@access.organisation_role_required(ADMIN)
@require_POST
def application_revoke(request, application_id: int):
    application = _application(request, application_id)
    applications.revoke(application, request.civil_servant)
    notices.success(request, _("The application was revoked: its credentials and tokens stopped working."))
    return redirect("sender_portal:applications")


@access.organisation_role_required(ADMIN)
@require_http_methods(["GET", "POST"])
def application_callback(request, application_id: int):
    """Set (with a new signing secret, shown once) or remove an application's callback URL."""
    application = _application(request, application_id)
    form = CallbackForm(request.POST or None, initial={"url": application.callback_url})
    if request.method == "POST" and request.POST.get("action") == "remove":
        applications.remove_callback(application, request.civil_servant)
        notices.success(request, _("Callbacks stopped: no more status changes are sent to this application."))
        return redirect("sender_portal:applications")
    if request.method == "POST" and form.is_valid():
        try:
            secret = applications.set_callback(application, form.cleaned_data["url"], request.civil_servant)
        except ValidationError as exc:
            form.add_error("url", exc)
        else:
            return render(request, "sender_portal/callback_secret.html", {"application": application, "secret": secret})
    return render(
        request,
        "sender_portal/callback.html",
        {"form": form, "application": application, "summary": callback_selectors.delivery_summary(application)},
    )
