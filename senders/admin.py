"""Operators onboard organisations, sender applications and message types here."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from senders import services
from senders.models import MessageType, Organisation, SenderApplication


class MessageTypeInline(admin.TabularInline):
    model = MessageType
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = [
        "enterprise_number",
        "__str__",
        "category",
        "region",
        "joined_on",
        "paper_transition_until",
        "paper_service",
    ]
    list_filter = ["category", "region", "paper_service"]
    search_fields = ["enterprise_number", "short_name"]
    inlines = [MessageTypeInline]


@admin.register(SenderApplication)
class SenderApplicationAdmin(admin.ModelAdmin):
    list_display = ["application_id", "organisation", "oauth_application", "created_at", "revoked_at"]
    list_filter = ["organisation"]
    search_fields = ["application_id"]
    readonly_fields = ["oauth_application", "created_at", "revoked_at"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the OAuth client (its tokens stop working at once)"))
    def revoke(self, request, queryset):
        count = 0
        for sender_application in queryset.select_related("oauth_application"):
            services.revoke_sender_application(sender_application)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d application revoked.", "%(count)d applications revoked.", count) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(MessageType)
class MessageTypeAdmin(admin.ModelAdmin):
    list_display = ["message_type_id", "organisation", "validity_number", "validity_unit", "paper_after_days"]
    list_filter = ["organisation"]
