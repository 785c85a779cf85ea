"""Operators see enterprise API clients (read-only: create them with the command), edit message providers,
and read enterprise document events."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from federation import services
from federation.models import DocumentEvent, EnterpriseApplication, MessageProvider


@admin.register(EnterpriseApplication)
class EnterpriseApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "enterprise", "created_at", "revoked_at")
    readonly_fields = ("enterprise", "oauth_application", "name", "created_at", "secret_rotated_at", "revoked_at")
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected clients (their tokens end at once)"))
    def revoke(self, request, queryset) -> None:
        for application in queryset.select_related("oauth_application"):
            services.revoke_enterprise_application(application)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(MessageProvider)
class MessageProviderAdmin(admin.ModelAdmin):
    list_display = ("provider_id", "url", "activation_date", "deactivation_date", "api_supported_version")


@admin.register(DocumentEvent)
class DocumentEventAdmin(admin.ModelAdmin):
    list_display = ("sequence", "event_type", "enterprise", "message", "client_id", "event_time")
    list_filter = ("event_type",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
