"""Citizens in the admin: identity and activation state only."""

from django.contrib import admin

from citizens.models import AccessLogEntry, ActivationChange, Citizen


class ActivationChangeInline(admin.TabularInline):
    model = ActivationChange
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "at", "actor", "detail"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "preferred_language", "activated_at", "email_verified_at", "last_connection_at"]
    list_filter = ["preferred_language"]
    search_fields = ["national_number"]
    readonly_fields = ["activated_at", "email_verified_at", "last_connection_at", "created_at", "user"]
    inlines = [ActivationChangeInline]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "citizen", "action", "accessor", "message"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
