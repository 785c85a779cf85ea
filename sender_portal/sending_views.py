"""The "Send a letter" pages: the form, the same-origin recipient check its script calls, the preview
(exactly what the citizen will see) and the send. Validation and storage are the API's
(sender_portal.services.sending)."""

from __future__ import annotations

from django.contrib import messages as notices
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from citizens.presentation import payment as payment_display
from ebox.i18n import localized, pick_language, translate
from messages.models import Message, Reply
from sender_portal import access, selectors
from sender_portal.sending_forms import SendForm, field_for_ref
from sender_portal.services import replies, sending
from senders.models import MessageType

DRAFT_KEY = "sender_portal_draft"
SENDERS = sending.SENDING_ROLES


def channel_label(channel: str) -> str:
    return {
        Message.Channel.DIGITAL: _("Digital: the letter arrives in their eBox."),
        Message.Channel.DIGITAL_AND_PAPER: _(
            "Digital and paper: in their eBox, and on paper during your transition period."
        ),
        Message.Channel.PAPER: _("Paper: they have not activated eBox, so the letter must also be printed and posted."),
    }.get(channel, channel)


def uploads_of(files) -> list[sending.Upload]:
    return [sending.Upload(f.name, f.content_type, f, f.size) for f in files]


def _answered_reply(request) -> Reply | None:
    """The reply this letter answers (?reply=…): the letter goes to its citizen, in its thread."""
    reply_id = request.POST.get("reply") or request.GET.get("reply")
    if not reply_id:
        return None
    try:
        return Reply.objects.select_related("citizen", "message__message_type").get(
            pk=reply_id, sender_organisation=request.organisation
        )
    except (Reply.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404(_("No such reply to your organisation.")) from exc


@access.organisation_role_required(*SENDERS)
@require_http_methods(["GET", "POST"])
def send(request):
    reply = _answered_reply(request)
    initial = {}
    if reply is not None:
        initial = {
            "recipient": reply.citizen.national_number,
            "message_type": reply.message.message_type.message_type_id,
        }
    form = SendForm(request.POST or None, request.FILES or None, organisation=request.organisation, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data, original_message=reply.message_id if reply else None)
        uploads = uploads_of(form.cleaned_data["documents"])
        data = sending.publication_of(values, len(uploads))
        try:
            sending.check(request.organisation, data, uploads)
        except sending.PublicationError as exc:
            for problem in exc.details:
                field = field_for_ref(problem["ref"])
                message = localized(problem["message"])  # the API's English, in the clerk's language
                form.add_error(field if field in form.fields else None, f"{problem['ref']}: {message}")
        else:
            sending.discard_draft(request.session.get(DRAFT_KEY))
            draft = sending.save_draft(data, uploads)
            draft |= {"channel": form.cleaned_data["channel"], "reply": str(reply.pk) if reply else ""}
            request.session[DRAFT_KEY] = draft
            return redirect("sender_portal:preview")
    return render(request, "sender_portal/send.html", {"form": form, "reply": reply})


@access.organisation_role_required(*SENDERS)
@require_GET
def recipient_check(request):
    """{"valid": …, "channel": …, "message": …} for the number typed so far (the form's script)."""
    try:
        kind, number, channel = selectors.recipient(request.organisation, request.GET.get("number", ""))
    except ValidationError:
        return JsonResponse(
            {
                "valid": False,
                "message": _(
                    "Enter a national register or BIS number (11 digits) or an enterprise number (10 digits)."
                ),
            }
        )
    return JsonResponse({"valid": True, "kind": kind, "channel": channel, "message": channel_label(channel)})


def preview_context(request, draft: dict) -> dict:
    """What the citizen's message page shows, built from the draft with the citizen portal's helpers."""
    data, language = draft["data"], request.LANGUAGE_CODE
    organisation_name = request.organisation.name(language)
    message_type = MessageType.objects.filter(
        organisation=request.organisation, message_type_id=data["messageTypeId"]
    ).first()
    subject, body = data.get("subject") or {}, data.get("bodyContent") or {}
    return {
        "draft": draft,
        "organisation_name": organisation_name,
        "message_type_name": translate(message_type.name, language) if message_type else "",
        "subject": translate(subject, language),
        "subject_language": pick_language([k for k, v in subject.items() if v], language),
        "body": translate(body, language) if body else "",
        "body_language": pick_language([k for k, v in body.items() if v], language) if body else None,
        "payment": payment_display(data.get("paymentData"), organisation_name),
        "channel": channel_label(draft.get("channel", "")),
        "registered": data.get("registeredMail"),
        "reply_authorized": data.get("replyAuthorized"),
        "letter_languages": sorted(subject),  # not `languages`: base.html sets that one (its language switcher)
    }


@access.organisation_role_required(*SENDERS)
@require_GET
def preview(request):
    draft = request.session.get(DRAFT_KEY)
    if not draft:
        return redirect("sender_portal:send")
    return render(request, "sender_portal/preview.html", preview_context(request, draft))


@access.organisation_role_required(*SENDERS)
@require_POST
def send_draft(request):
    draft = request.session.get(DRAFT_KEY)
    if not draft:
        return redirect("sender_portal:send")
    if request.POST.get("action") == "discard":
        sending.discard_draft(draft)
        del request.session[DRAFT_KEY]
        notices.success(request, _("The draft was discarded."))
        return redirect("sender_portal:send")
    request.audit_recorded = True  # the letter's own entry names the civil servant and role
    try:
        message = sending.send_draft(draft, request.civil_servant)
    except sending.PublicationError as exc:
        notices.error(request, "; ".join(f"{p['ref']}: {localized(p['message'])}" for p in exc.details))
        return redirect("sender_portal:preview")
    except sending.DuplicatePublication as exc:
        message = Message.objects.get(pk=exc.message_id)
    except OSError:  # its PDFs were swept (an abandoned draft, sender_portal.sweep_drafts)
        del request.session[DRAFT_KEY]
        notices.error(request, _("This draft has expired: please fill in the letter again."))
        return redirect("sender_portal:send")
    del request.session[DRAFT_KEY]
    reply = Reply.objects.filter(pk=draft.get("reply") or None, sender_organisation=request.organisation).first()
    if reply is not None and request.civil_servant.has(*replies.READERS):
        replies.answered(reply, message, request.civil_servant)
    notices.success(request, _("The letter was sent."))
    return redirect("sender_portal:letter", message_id=message.pk)
