"""The audit trail in the admin: read-only, no add, change or delete (the database refuses them anyway)."""

from django.contrib import admin

from audit.models import AuditCheckpoint, AuditEntry


class AppendOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(AppendOnlyAdmin):
    list_display = ["id", "at", "actor", "method", "url", "status_code"]
    list_filter = ["method", "status_code"]
    # Actors are keyed hashes: an operator searches by the hash of a national number or a client id.
    search_fields = ["=actor", "=token_sha256", "url"]
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(AppendOnlyAdmin):
    list_display = ["id", "entry_id", "signed_at", "kid"]
    show_full_result_count = False
