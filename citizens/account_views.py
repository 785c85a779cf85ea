"""The citizen's account pages: activation and deactivation, e-mail verification, settings,
the language choice and the logged-out page (the mail pages are in views.py).

Views validate input with forms and call services; reading goes through selectors.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from citizens import selectors, services
from citizens.forms import ActivationForm, SettingsForm
from citizens.views import current_citizen
from messages.notifications.selectors import citizens_notification_problem


def _safe_next(request) -> str | None:
    """The page to return to after activating (e.g. a partner app's consent page), if it is ours."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_required
@require_http_methods(["GET", "POST"])
def activate(request):
    citizen = current_citizen(request, manage=True)
    if request.method == "POST" and not citizen.is_activated:
        form = ActivationForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                citizen = services.activate(
                    citizen, email=form.cleaned_data["email"], language=form.cleaned_data["language"]
                )
                services.request_email_verification(citizen)
            with translation.override(citizen.preferred_language):
                notices.success(
                    request, _("Your eBox is activated. Check your mailbox to confirm your e-mail address.")
                )
            response = redirect(_safe_next(request) or "citizens:activate")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, citizen.preferred_language, samesite="Lax")
            return response
    else:
        form = ActivationForm(
            initial={"email": citizen.email, "language": request.LANGUAGE_CODE or citizen.preferred_language}
        )
    return render(request, "citizens/activate.html", {"citizen": citizen, "form": form, "next": _safe_next(request)})


@login_required
@require_POST
def deactivate(request):
    citizen = current_citizen(request, manage=True)
    if request.POST.get("confirm") != "1":
        notices.error(request, _("Tick the box to confirm that you want paper letters again."))
        return redirect("citizens:activate")
    services.deactivate(citizen)
    notices.success(request, _("Your eBox is deactivated: public services will send you paper letters."))
    return redirect("citizens:activate")


@login_required
@require_POST
def resend_verification(request):
    citizen = current_citizen(request, manage=True)
    with transaction.atomic():
        services.request_email_verification(citizen)
    notices.success(
        request, _("We sent a new confirmation link to %(email)s.") % {"email": services.address_to_verify(citizen)}
    )
    return redirect(request.POST.get("next") == "settings" and "citizens:settings" or "citizens:activate")


@require_http_methods(["GET", "POST"])
def verify_email(request, token: str):
    """The link from the e-mail. GET only shows a button: mail scanners that follow links verify nothing."""
    found = services.citizen_for_token(token)
    if found is None:
        return render(request, "citizens/verify_email.html", {"invalid": True}, status=400)
    citizen, email = found
    if request.method == "POST":
        if services.verify_email(citizen, email):
            notices.success(request, _("Thank you: your e-mail address is confirmed."))
        else:
            notices.error(request, _("This link is for an address that is no longer yours in eBox."))
        return redirect("citizens:inbox" if request.user.is_authenticated else "home")
    return render(request, "citizens/verify_email.html", {"email": email, "invalid": False})


# --- Settings -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    citizen = current_citizen(request, manage=True)
    if request.method == "POST":
        form = SettingsForm(request.POST, activated=citizen.is_activated)
        if form.is_valid():
            with transaction.atomic():
                citizen = services.update_settings(citizen, **form.cleaned_data)
            # Said in the language just chosen, as the next page will be.
            with translation.override(citizen.preferred_language):
                notices.success(request, _("Your settings are saved."))
            response = redirect("citizens:settings")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, citizen.preferred_language, samesite="Lax")
            return response
    else:
        form = SettingsForm(
            activated=citizen.is_activated,
            initial={
                "email": citizen.pending_email or citizen.email,
                "language": citizen.preferred_language,
                "notify_new_messages": citizen.notify_new_messages,
                "notify_reminders": citizen.notify_reminders,
            },
        )
    log = Paginator(selectors.access_log(citizen), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "citizens/settings.html",
        {
            "citizen": citizen,
            "form": form,
            "log": log,
            "history": citizen.activation_history.all()[:20],
            "notification_problem": citizens_notification_problem(citizen),  # the e-mail field is below
        },
    )


@require_GET
def logged_out(request):
    """Where the identity provider sends the citizen back after logging out (GOV.UK's "signed out" page)."""
    if request.user.is_authenticated:  # came here by hand while logged in
        return redirect("citizens:inbox")
    return render(request, "citizens/logged_out.html")


@require_POST
def set_language(request):
    """Django's language switch, and the logged-in citizen's stored preference."""
    response = django_set_language(request)
    language = request.POST.get("language")
    citizen = getattr(request.user, "citizen", None) if request.user.is_authenticated else None
    if citizen is not None and language in dict(settings.LANGUAGES):
        with transaction.atomic():
            services.set_language(citizen, language)
    return response if isinstance(response, HttpResponseRedirect) else redirect("home")
