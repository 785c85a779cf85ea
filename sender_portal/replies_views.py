"""The replies inbox of an organisation: citizens' replies (decrypted after their seal is checked, as the
replies API does), assigned to a colleague, marked handled, and answered by a letter in the same thread."""

from __future__ import annotations

from django.contrib import messages as notices
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from citizens.models import Citizen
from ebox.i18n import translate
from messages.models import Reply
from messages.services import incidents
from messages.services import replies as message_replies
from sender_portal import access, selectors, services
from sender_portal.services import replies

READERS = replies.READERS


@access.organisation_role_required(*READERS)
@require_GET
def reply_list(request):
    show = request.GET.get("show", "open")
    if show not in ("open", "mine", "handled", "all"):
        show = "open"
    found = selectors.replies(request.organisation, show=show, person=request.civil_servant.person)
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    # Each reply with its letter's type name in the reader's language (the identifier when the type has no name).
    rows = [
        (r, translate(r.message.message_type.name, request.LANGUAGE_CODE) or r.message.message_type.message_type_id)
        for r in page.object_list
    ]
    return render(request, "sender_portal/replies.html", {"page": page, "rows": rows, "show": show})


def _reply(request, reply_id) -> Reply:
    return get_object_or_404(
        Reply.objects.select_related(
            "citizen", "citizen__user", "message", "message__message_type", "sender_organisation"
        ),
        pk=reply_id,
        sender_organisation=request.organisation,
    )


@access.organisation_role_required(*READERS)
@require_GET
def reply_detail(request, reply_id):
    reply = _reply(request, reply_id)
    try:
        text = message_replies.verified_reply(reply, detected_by="portal")
    except incidents.IntegrityFailure:
        text = None
    services.record(request.civil_servant, "read_reply", [reply.pk])  # who read a citizen's reply, in which role
    handling = getattr(reply, "handling", None)
    return render(
        request,
        "sender_portal/reply.html",
        {
            "reply": reply,
            "text": text,
            "handling": handling,
            "colleagues": selectors.reply_readers(request.organisation),
            "can_send": request.civil_servant.has("administrator", "sender"),
            "type_name": translate(reply.message.message_type.name, request.LANGUAGE_CODE)
            or reply.message.message_type.message_type_id,
        },
    )


@access.organisation_role_required(*READERS)
@require_POST
def reply_update(request, reply_id):
    reply = _reply(request, reply_id)
    try:
        if "assign" in request.POST:
            colleague_id = request.POST.get("assign")
            colleague = Citizen.objects.filter(pk=colleague_id).first() if colleague_id else None
            replies.assign(reply, colleague, request.civil_servant)
            notices.success(request, _("The reply was assigned."))
        elif "handled" in request.POST:
            replies.mark_handled(reply, request.POST["handled"] == "1", request.civil_servant)
            notices.success(request, _("The reply was updated."))
    except ValidationError:
        notices.error(request, _("This colleague cannot read replies."))
    return redirect("sender_portal:reply", reply_id=reply.pk)
