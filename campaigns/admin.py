"""Campaigns in the admin: read-only (they change through the sender portal and the sending task)."""

from django.contrib import admin

from campaigns.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "status", "row_count", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["name", "organisation__enterprise_number"]
    exclude = ["wrapped_key"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
