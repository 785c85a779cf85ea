"""Messages in the admin: metadata only. Content fields are never listed, shown or editable."""

from django.contrib import admin

from messages.models import IntegrityIncident, Message, MessageEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    fields = ["kind", "at", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False

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
        "status",
        "received_at",
        "read_at",
        "registered_mail",
    ]
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
        "status",
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


@admin.register(IntegrityIncident)
class IntegrityIncidentAdmin(admin.ModelAdmin):
    list_display = ["detected_at", "message", "detected_by", "reason", "resolved_at"]
    list_filter = ["detected_by", "resolved_at"]
    readonly_fields = ["detected_at", "message", "detected_by", "reason"]
