"""Operators onboard organisations, sender applications and message types here, set callback
URLs, and follow callbacks (failed ones can be sent again)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from senders import services
from senders.callbacks import configuration, delivery
from senders.models import CallbackDelivery, MessageType, Organisation, SenderApplication


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


class SenderApplicationForm(forms.ModelForm):
    callback_url = forms.URLField(
        label=_("callback URL"),
        required=False,
        assume_scheme="https",
        help_text=_("Status changes of this application's messages are POSTed here, signed. Empty: no callbacks."),
    )

    class Meta:
        model = SenderApplication
        fields = ["organisation", "application_id", "name", "description", "contact_technical", "callback_url"]

    def clean_callback_url(self) -> str:
        url = self.cleaned_data["callback_url"]
        if not url:
            return ""
        try:
            return configuration.validate_callback_url(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


@admin.register(SenderApplication)
class SenderApplicationAdmin(admin.ModelAdmin):
    form = SenderApplicationForm
    list_display = ["application_id", "organisation", "oauth_application", "callback_url", "created_at", "revoked_at"]
    list_filter = ["organisation"]
    search_fields = ["application_id"]
    readonly_fields = ["oauth_application", "created_at", "revoked_at"]
    actions = ["revoke", "new_callback_secret"]

    def save_model(self, request, obj, form, change):
        url = obj.callback_url
        if change and "callback_url" in form.changed_data:
            obj.callback_url = SenderApplication.objects.get(pk=obj.pk).callback_url  # set below, by the service
        super().save_model(request, obj, form, change)
        if "callback_url" not in form.changed_data:
            return
        if not url:
            configuration.remove_callback(obj)
        elif obj.callback_secret_wrapped:
            configuration.change_callback_url(obj, url)
        else:
            self._show_secret(request, obj, configuration.set_callback(obj, url))

    def _show_secret(self, request, obj, secret: str) -> None:
        self.message_user(
            request,
            _("Callback signing secret of %(application)s (shown once, give it to the organisation): %(secret)s")
            % {"application": obj.application_id, "secret": secret},
            messages.WARNING,
        )

    @admin.action(description=_("Issue a new callback signing secret (the old one stops signing at once)"))
    def new_callback_secret(self, request, queryset):
        for sender_application in queryset.exclude(callback_url=""):
            self._show_secret(
                request,
                sender_application,
                configuration.set_callback(sender_application, sender_application.callback_url),
            )

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


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin):
    list_display = ["message_id", "sequence", "event", "sender_application", "state", "attempts", "next_attempt_at"]
    list_filter = ["state", "event", "sender_application"]
    search_fields = ["=message_id", "=delivery_id"]
    ordering = ["-id"]
    actions = ["requeue"]

    def has_add_permission(self, request) -> bool:
        return False

    fields = [
        "message_id",
        "sender_application",
        "sequence",
        "event",
        "status",
        "at",
        "delivery_id",
        "state",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "delivered_at",
        "last_error",
        "created_at",
    ]
    readonly_fields = fields
    list_select_related = ["sender_application"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed for the admin action; every field stays read-only.
        return request.user.is_staff and request.user.has_perm("senders.change_callbackdelivery")

    @admin.action(description=_("Send again (with the later callbacks of the same messages)"), permissions=["change"])
    def requeue(self, request, queryset):
        count = delivery.requeue(list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%(count)d callback queued again.", "%(count)d callbacks queued again.", count) % {"count": count},
            messages.SUCCESS,
        )
