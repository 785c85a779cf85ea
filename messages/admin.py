"""Messages in the admin: metadata only. Content fields are never listed, shown or editable."""

import re
import uuid

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin import AppendOnlyAdmin as ReadOnlyAdmin
from messages.models import EmailNotification, IntegrityIncident, Message, MessageEvent
from messages.notifications import recovery


def recipient_ids(term: str) -> list[str]:
    """A national register, BIS or enterprise number as typed ("85.07.30-033.28", "0123.456.789")."""
    digits = re.sub(r"[\s.\-/]", "", term)
    if digits.upper().startswith("BE"):
        digits = digits[2:]
    return [digits] if digits.isdigit() else [term]


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    fields = ["kind", "at", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    template = "admin/ebox/tabular_without_object_names.html"  # not "MessageEvent object (1420)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    # Metadata only: subject, body, attachments and their names are ciphertext and never shown.
    list_display = [
        "id",
        "sender_organisation",
        "message_type",
        "recipient_type",
        "channel",
        "api_status",
        "received_at",
        "read_at",
        "registered_mail",
    ]
    # Exact lookups only (an index each): a message id, or a recipient's number as printed or typed.
    search_fields = ["=recipient_id"]
    search_help_text = _("A message id, or a recipient's national register or enterprise number (any format).")
    list_filter = [
        "status",
        "channel",
        "registered_mail",
        "sender_organisation",
        ("integrity_failed_at", admin.EmptyFieldListFilter),
    ]
    fields = [
        "id",
        "sender_organisation",
        "sender_application",
        "message_type",
        "recipient_type",
        "channel",
        "api_status",
        "received_at",
        "sealed_at",
        "seal_key_id",
        "expires_at",
        "read_at",
        "hidden_at",
        "registered_mail",
        "reply_authorized",
        "integrity_failed_at",
    ]
    readonly_fields = fields
    inlines = [MessageEventInline]
    show_full_result_count = False  # no COUNT(*) over millions of rows per page

    @admin.display(description=_("status"), ordering="status")
    def api_status(self, obj) -> str:
        """The status as the API names it ("sealed"), so operators and senders speak alike."""
        return obj.status

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            pass
        return queryset.filter(recipient_id__in=recipient_ids(term)), False


@admin.register(IntegrityIncident)
class IntegrityIncidentAdmin(admin.ModelAdmin):
    list_display = ["detected_at", "message", "detected_by", "reason", "resolved_at"]
    list_filter = ["detected_by", "resolved_at"]
    readonly_fields = ["detected_at", "message", "detected_by", "reason"]


@admin.register(EmailNotification)
class EmailNotificationAdmin(ReadOnlyAdmin):
    """Notification e-mails: what was owed, sent, retried, refused or left uncertain. No content exists here."""

    list_display = [
        "id",
        "citizen",
        "kind",
        "status",
        "message_count",
        "window_start",
        "attempts",
        "execute_after",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["citizen__national_number", "to_address"]
    fields = [
        "citizen",
        "kind",
        "status",
        "window_start",
        "message_count",
        "registered_count",
        "organisation_ids",
        "unread_registered_count",
        "expiring_count",
        "payment_due_count",
        "attempts",
        "execute_after",
        "attempt_id",
        "claimed_at",
        "sent_at",
        "failed_at",
        "to_address",
        "last_error",
        "created_at",
    ]
    readonly_fields = fields
    list_select_related = ["citizen"]
    show_full_result_count = False
    actions = ["requeue"]

    @admin.action(
        description=_("Send again (failed or uncertain e-mails; an uncertain one may arrive twice)"),
        permissions=["change"],
    )
    def requeue(self, request, queryset) -> None:
        count = recovery.requeue(queryset.values_list("id", flat=True))
        self.message_user(request, _("%(count)d e-mail(s) queued again.") % {"count": count})

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed for the admin action; every field stays read-only.
        return request.user.is_staff and request.user.has_perm("mailbox.change_emailnotification")
