"""The portal's answer to a registered letter: acknowledge receipt or refuse it (sealed, final)."""

from __future__ import annotations

from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from citizens import selectors
from citizens.models import AccessLogEntry
from citizens.views import current_citizen, log_access
from messages.models import Message
from messages.services import acknowledgement


@login_required
@require_POST
def acknowledge(request, message_id):
    citizen = current_citizen(request, manage=True)
    try:
        message = selectors.citizen_message(citizen, message_id)
    except Message.DoesNotExist as exc:
        raise Http404(_("No such message.")) from exc
    request.audit_ids.append(str(message.id))
    decision = request.POST.get("decision")
    try:
        with transaction.atomic():
            acknowledgement.answer(message, decision, channel="portal")
            log_access(request, citizen, message, AccessLogEntry.Action.ACKNOWLEDGED)
    except acknowledgement.AcknowledgementRefused:
        notices.error(request, _("This letter cannot be answered (any more)."))
    else:
        if decision == "refused":
            notices.success(request, _("You refused this letter. The sender is informed."))
        else:
            notices.success(request, _("You acknowledged receipt. The sender is informed."))
    return redirect(reverse("citizens:message", args=[message.pk]) + "#acknowledgement")
