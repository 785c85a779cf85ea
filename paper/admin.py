"""Operators follow print runs and print items here (read-only: the services change them)."""

from django.contrib import admin

from paper.models import PrintBatch, PrintItem


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrintBatch)
class PrintBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "letters", "sheets", "created_at", "printed_at", "out_dir"]
    list_filter = ["status"]


@admin.register(PrintItem)
class PrintItemAdmin(ReadOnlyAdmin):
    list_display = ["message_id", "status", "reason", "batch", "pages", "envelope", "queued_at", "printed_at"]
    list_filter = ["status", "reason"]
    search_fields = ["message__id", "batch__id"]
