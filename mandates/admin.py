"""Mandates in the admin: read-only, with one action (revoke), which goes through mandates.services.

Operators load the register's mandates with `manage.py import_mandates`; people grant the others in the portal.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mandates import services
from mandates.models import Mandate


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["owner", "representative", "role", "scope", "valid_from", "valid_until", "revoked_at"]
    list_filter = ["role", "scope"]
    search_fields = ["=owner__national_number", "=representative__national_number", "owner__name"]
    search_help_text = _("The owner's or the representative's number (any format), or the owner's name.")
    readonly_fields = [f.name for f in Mandate._meta.fields]
    actions = ["revoke"]

    def get_search_results(self, request, queryset, search_term):
        digits = re.sub(r"[\s.\-]|^BE", "", search_term.strip(), flags=re.IGNORECASE)
        return super().get_search_results(request, queryset, digits if digits.isdigit() else search_term)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked mandates stay, as the history of who could read what

    @admin.action(description=_("Revoke the selected mandates now"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for mandate in queryset.filter(revoked_at__isnull=True):
            services.revoke(mandate, by=None)
        self.message_user(request, gettext("The mandates are revoked."), messages.SUCCESS)
