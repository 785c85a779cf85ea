"""Operators appoint an organisation's first administrator here (or with `grant_sender_role`)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sender_portal import services
from sender_portal.models import SenderRole


@admin.register(SenderRole)
class SenderRoleAdmin(admin.ModelAdmin):
    list_display = ["person", "organisation", "role", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["role", "organisation"]
    search_fields = ["person__national_number", "organisation__enterprise_number"]
    autocomplete_fields = ["organisation", "person"]
    readonly_fields = ["granted_by", "granted_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A role is granted or revoked, never edited: changing its person or organisation would rewrite history.
        return [*self.readonly_fields, "organisation", "person", "role"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        granted = services.grant_role(obj.organisation, obj.person.national_number, obj.role)
        obj.pk = granted.pk

    @admin.action(description=_("Revoke the selected roles"))
    def revoke(self, request, queryset):
        for sender_role in queryset.select_related("organisation"):
            services.revoke_role(sender_role)
