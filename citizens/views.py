"""The citizen portal's mail pages: inbox, message, attachments, replies (the account pages: account_views.py).

Views validate input with forms and call services; reading goes through selectors.
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib import messages as notices
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from citizens import selectors, services
from citizens.forms import ReplyForm, SearchForm
from citizens.models import AccessLogEntry, Citizen
from citizens.presentation import payment as _payment
from ebox.file_safety import clean_file_name
from ebox.i18n import pick_language, translate
from mandates import selectors as mandate_selectors
from mandates.selectors import MailboxAccess
from messages.models import Attachment, Message
from messages.notifications.selectors import citizens_notification_problem
from messages.services import incidents, publishing, reading, replies


class CitizenCallbackView(OIDCAuthenticationCallbackView):
    """After login, the portal speaks the language the citizen chose (if they ever chose one)."""

    def login_success(self):
        response = super().login_success()
        citizen = getattr(self.user, "citizen", None)
        if citizen is not None and citizen.activation_history.exists():
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, citizen.preferred_language, samesite="Lax")
        return response


def current_access(request, *, manage: bool = False) -> MailboxAccess:
    """The mailbox this request acts on (the person's own, or one they hold a live mandate for).

    Checked against the mandates on every request; `manage` refuses (403) a read-only mandate.
    """
    access = mandate_selectors.current_access(request)
    if access is None:  # a staff account, not a citizen: no inbox
        raise Http404(_("This account has no eBox."))
    if getattr(request, "mandate_ended", False):
        notices.warning(request, _("Your mandate for that eBox has ended: you are back in your own eBox."))
    if manage and not access.manages:
        raise PermissionDenied(_("Your mandate for this eBox lets you read it, not manage it."))
    request.ebox_access = access
    return access


def current_citizen(request, *, manage: bool = False) -> Citizen:
    """The eBox (mailbox owner) this request acts on; see current_access."""
    return current_access(request, manage=manage).mailbox


def log_access(request, citizen: Citizen, message, action: str) -> None:
    """The access, in the owner's log, naming the representative and their mandate when it is one."""
    access = getattr(request, "ebox_access", None)
    services.log_access(citizen, message, action, mandate=access.mandate if access else None)


def _message_or_404(citizen: Citizen, message_id) -> Message:
    try:
        return selectors.citizen_message(citizen, message_id)
    except Message.DoesNotExist as exc:  # someone else's message is indistinguishable from none
        raise Http404(_("No such message in your eBox.")) from exc


# --- Inbox ----------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    citizen = current_citizen(request)
    organisations, types = selectors.inbox_facets(citizen)
    form = SearchForm(request.GET or None, organisations=organisations, types=types)
    filters = form.cleaned_data if form.is_valid() else {}
    hidden = request.GET.get("view") == "archive"
    state = filters.get("state")
    messages = selectors.inbox_messages(
        citizen,
        hidden=hidden,
        organisation=filters.get("organisation"),
        message_type=filters.get("type"),
        unread={"unread": True, "read": False}.get(state),
        registered=bool(filters.get("registered")),
    ).select_related("content", "sender_organisation", "message_type")
    query = (filters.get("q") or "").strip()
    if query:
        messages = selectors.search_messages(messages, query, citizen.preferred_language)
    counts = selectors.inbox_counts(citizen)
    paginator = Paginator(messages, 20)
    if not hidden and not query and not any(filters.get(k) for k in ("organisation", "type", "state", "registered")):
        paginator.count = counts["visible"]  # already counted: spare the page a second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    # Plain selects (rendering Django's widget templates costs more than the rest of the page).
    selects = [
        {
            "name": name,
            "label": form.fields[name].label,
            "choices": form.fields[name].choices,
            "value": str(request.GET.get(name, "") if name in filters and filters.get(name) else ""),
        }
        for name in ("organisation", "type", "state")
    ]
    rows = selectors.with_subjects(list(page.object_list), citizen)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "citizens/inbox.html",
        {
            "citizen": citizen,
            "form": form,
            "page": page,
            "rows": rows,
            "counts": counts,
            "selects": selects,
            "filters": filters,
            "hidden": hidden,
            "query": query,
            "filtered": bool(query or any(filters.get(k) for k in ("organisation", "type", "state", "registered"))),
            "page_query": params.urlencode(),
            # Our e-mails to the citizen bounced: they should check their address.
            "notification_problem": citizens_notification_problem(citizen),
            "settings_url": reverse("citizens:settings") + "#id_email",
        },
    )


# --- One message ----------------------------------------------------------------


def _business_data(items: list | None, language: str) -> list[tuple[str, str]]:
    """The spec's businessDataList ({key, name, values: [TranslatedString]}) as label/value pairs."""

    def text(value) -> str:
        return translate(value, language) if isinstance(value, dict) else str(value)

    rows = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        label = text(item.get("name")) if item.get("name") else str(item.get("key", ""))
        values = item.get("values", [item["value"]] if "value" in item else [])
        rows.append((label, ", ".join(text(v) for v in values if v not in (None, ""))))
    return rows


@login_required
@require_GET
def message_detail(request, message_id):
    citizen = current_citizen(request)
    message = _message_or_404(citizen, message_id)
    return _message_page(request, citizen, message)


def _shown_replies(message: Message, citizen: Citizen) -> list[dict]:
    """The citizen's replies with their text (decrypted, seal checked), oldest first."""
    shown = []
    for reply in (
        message.replies.filter(citizen=citizen)
        .select_related("citizen", "message", "sender_organisation")
        .order_by("created_at")
    ):
        try:
            text = replies.verified_reply(reply, reader=citizen)
        except incidents.IntegrityFailure:
            text = None
        shown.append({"reply": reply, "text": text})
    return shown


def _failed_attachments(message: Message, attachments: list, citizen: Citizen) -> set:
    """Ids of the attachments whose bytes fail their check now (each failure is an incident).

    The page says "verified" only about what it checked: every blob is decrypted and hashed
    against its sealed digest before the page is shown (the seal itself was just verified).
    """
    failed = set()
    for attachment in attachments:
        try:
            for _chunk in reading.open_attachment(message, attachment, check_seal=False, reader=citizen):
                pass
        except incidents.IntegrityFailure:
            failed.add(attachment.id)
    return failed


def _message_page(request, citizen: Citizen, message: Message, reply_form: ReplyForm | None = None):
    """The message page; after a refused reply, the same page with the typed text and its errors."""
    language = request.LANGUAGE_CODE
    context = {"message": message, "citizen": citizen, "integrity_failed": False}
    organisation_name = message.sender_organisation.name(language)
    try:
        text = reading.verified_text(message, reader=citizen)
    except incidents.IntegrityFailure:
        context["integrity_failed"] = True
        return render(request, "citizens/message.html", context, status=200)
    attachments = list(message.content.attachments.all())
    failed = _failed_attachments(message, attachments, citizen)
    # "Verified" only when every check passed now and no failure of this message is open.
    context["verified"] = not failed and message.integrity_failed_at is None
    main_attachment = next((a for a in attachments if a.main_content), None)
    if reply_form is None:  # a refused reply shows the page again: not a new opening
        with transaction.atomic():
            log_access(request, citizen, message, AccessLogEntry.Action.OPENED)
            # The body is the main content when the sender says so or when no attachment is.
            if message.body_main_content or main_attachment is None:
                reading.mark_read(message, actor="citizen")
    subject_language = pick_language([k for k, v in text.subject.items() if v], language)
    body_language = pick_language([k for k, v in (text.body or {}).items() if v], language) if text.body else None
    context.update(
        {
            "subject": translate(text.subject, language),
            "subject_language": subject_language,
            "body": translate(text.body, language),
            "body_language": body_language,
            "organisation_name": organisation_name,
            "message_type_name": translate(message.message_type.name, language),
            "attachments": [
                {"obj": a, "meta": reading.attachment_meta(message, a), "failed": a.id in failed} for a in attachments
            ],
            "main_attachment": main_attachment if main_attachment and main_attachment.id not in failed else None,
            "payment": _payment(text.payment_data, organisation_name),
            "business_data": _business_data(text.business_data, language),
            "reply_form": (reply_form or ReplyForm()) if message.reply_authorized else None,
            "replies": _shown_replies(message, citizen),
        }
    )
    return render(request, "citizens/message.html", context)


@login_required
@require_GET
def attachment_download(request, message_id, attachment_id):
    citizen = current_citizen(request)
    message = _message_or_404(citizen, message_id)
    try:
        attachment = message.content.attachments.get(pk=attachment_id)
    except Attachment.DoesNotExist as exc:
        raise Http404(_("No such attachment.")) from exc
    # Decrypt and check the digest completely before sending a byte: tampered content is withheld.
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    try:
        for chunk in reading.open_attachment(message, attachment, reader=citizen):
            spool.write(chunk)
    except incidents.IntegrityFailure:
        spool.close()
        return render(request, "citizens/integrity_failed.html", {"message": message}, status=409)
    spool.seek(0)
    inline = request.GET.get("inline") == "1" and attachment.media_type == "application/pdf"
    with transaction.atomic():
        # Shown inside the message page (already logged as opened) is not a download.
        if not inline:
            log_access(request, citizen, message, AccessLogEntry.Action.DOWNLOADED)
        if attachment.main_content:
            reading.mark_read(message, actor="citizen")
    # Cleaned again on the way out: names stored before the input was cleaned may carry bidi overrides.
    file_name = (
        clean_file_name(reading.attachment_meta(message, attachment).get("fileName") or "") or f"{attachment.id}"
    )
    response = FileResponse(spool, as_attachment=not inline, filename=file_name, content_type=attachment.media_type)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def message_visibility(request, message_id):
    citizen = current_citizen(request, manage=True)
    message = _message_or_404(citizen, message_id)
    visible = request.POST.get("visible") == "1"
    with transaction.atomic():
        reading.set_visibility(message, visible=visible, actor="citizen")
        log_access(
            request, citizen, message, AccessLogEntry.Action.UNHIDDEN if visible else AccessLogEntry.Action.HIDDEN
        )
    notices.success(request, _("The message is back in your inbox.") if visible else _("The message is archived."))
    return redirect("citizens:inbox")


@login_required
@require_POST
def message_reply(request, message_id):
    citizen = current_citizen(request, manage=True)
    message = _message_or_404(citizen, message_id)
    if not message.reply_authorized:
        raise Http404(_("This message does not accept replies."))
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():  # the page again, with what was typed and each error at its field
        return _message_page(request, citizen, message, reply_form=form)
    upload = form.cleaned_data["attachment"]
    attachment = None
    if upload is not None:
        attachment = publishing.AttachmentUpload(
            file=upload.file, file_name=clean_file_name(upload.name) or "reply.pdf", media_type="application/pdf"
        )
    try:
        replies.reply_to_message(message, citizen, form.cleaned_data["text"], attachment)
    except publishing.StorageUnavailable:
        # Disk full or storage down: nothing was stored; the page again, with what was typed.
        form.add_error(None, _("Your reply could not be stored just now. Nothing was sent; please try again later."))
        response = _message_page(request, citizen, message, reply_form=form)
        response.status_code = 503
        response["Retry-After"] = "60"
        return response
    notices.success(
        request, _("Your reply was sent to %(organisation)s.") % {"organisation": message.sender_organisation.name()}
    )
    return redirect(reverse("citizens:message", args=[message.pk]) + "#replies")


@login_required
@require_GET
def organisation_logo(request, organisation_id: int):
    from senders.models import Organisation

    organisation = Organisation.objects.filter(pk=organisation_id).exclude(logo="").first()
    if organisation is None:
        raise Http404(_("No logo."))
    response = FileResponse(organisation.logo.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Activation -------------------------------------------------------------------
