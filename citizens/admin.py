"""eBox owners (persons and enterprises) in the admin: identity and activation state only."""

import re

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from citizens import services
from citizens.models import AccessLogEntry, ActivationChange, Citizen, PartnerApplication, PartnerGrant


class ActivationChangeInline(admin.TabularInline):
    model = ActivationChange
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "at", "actor", "detail"]
    template = "admin/ebox/tabular_without_object_names.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "kind",
        "name",
        "preferred_language",
        "activated_at",
        "email_verified_at",
        "last_connection_at",
    ]
    list_filter = ["kind", "preferred_language"]
    search_fields = ["=national_number", "name"]
    search_help_text = _("National register, BIS or enterprise number, with or without its dots and dash; or a name.")
    # The e-mail address is the citizen's own, verified by them: operators cannot rewrite it (an
    # address changed here would receive every notice, unconfirmed and unknown to the citizen).
    readonly_fields = ["email", "activated_at", "email_verified_at", "last_connection_at", "created_at", "user"]
    inlines = [ActivationChangeInline]

    def get_search_results(self, request, queryset, search_term):
        # "85.07.30-033.28" as printed on the eID card finds the same citizen as "85073003328".
        digits = re.sub(r"[\s.\-]", "", search_term)
        return super().get_search_results(request, queryset, digits if digits.isdigit() else search_term)


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "citizen", "action", "accessor", "mandate", "message"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the database refuses it too (audit/append_only.py)


class PartnerApplicationCreationForm(forms.ModelForm):
    """Registering a partner app creates its OAuth client; a confidential client's secret is shown once."""

    name_fr = forms.CharField(label=_("Name (fr)"))
    name_nl = forms.CharField(label=_("Name (nl)"))
    name_de = forms.CharField(label=_("Name (de)"), required=False)
    name_en = forms.CharField(label=_("Name (en)"), required=False)
    redirect_uris = forms.CharField(label=_("Redirect URIs (space separated)"))
    confidential = forms.BooleanField(label=_("Confidential client (has a secret)"), required=False, initial=True)
    allowed_scopes = forms.MultipleChoiceField(
        choices=PartnerApplication.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = PartnerApplication
        fields = ["website"]


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "client_id", "allowed_scopes", "created_at", "revoked_at"]
    readonly_fields = ["oauth_application", "created_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description=_("client id"))
    def client_id(self, obj: PartnerApplication) -> str:
        return obj.oauth_application.client_id

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PartnerApplicationCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "name_fr",
                "name_nl",
                "name_de",
                "name_en",
                "website",
                "redirect_uris",
                "confidential",
                "allowed_scopes",
            ]
        return ["name", "description", "website", "allowed_scopes", "oauth_application", "created_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        partner, secret = services.create_partner_application(
            name={lang: data[f"name_{lang}"] for lang in ("fr", "nl", "de", "en") if data.get(f"name_{lang}")},
            redirect_uris=data["redirect_uris"].split(),
            scopes=data["allowed_scopes"],
            confidential=data["confidential"],
            website=data.get("website", ""),
        )
        obj.pk = partner.pk
        message = f"client_id={partner.oauth_application.client_id}"
        if secret:
            message += " " + gettext("client_secret=%(secret)s (shown once: store it now)") % {"secret": secret}
        self.message_user(request, message, messages.WARNING)

    @admin.action(description=_("Revoke the selected partner apps (ends every token and grant now)"))
    def revoke(self, request, queryset) -> None:
        for partner in queryset:
            services.revoke_partner_application(partner)


@admin.register(PartnerGrant)
class PartnerGrantAdmin(admin.ModelAdmin):
    list_display = ["partner", "citizen", "scopes", "granted_at", "revoked_at"]
    readonly_fields = ["partner", "citizen", "scopes", "granted_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False
