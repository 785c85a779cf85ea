"""Forms of the citizen portal; they validate input, services change state."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from citizens.models import Language
from ebox.file_safety import refusal
from ebox.i18n import translate

REPLY_MAX_CHARS = 5000


class ActivationForm(forms.Form):
    consent = forms.BooleanField(
        label=_("I choose to receive the letters of public services in eBox instead of on paper."),
        error_messages={"required": _("Tick the box to confirm your choice.")},
    )
    email = forms.EmailField(
        label=_("E-mail address for notifications"),
        help_text=_("We send you a link to confirm it. E-mails never contain your messages."),
        error_messages={"required": _("Enter an e-mail address: it is how you learn that a letter arrived.")},
    )
    language = forms.ChoiceField(label=_("Language of your e-mails and messages"), choices=Language.choices)


class SettingsForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    notify_new_messages = forms.BooleanField(label=_("E-mail me when a new message arrives"), required=False)
    notify_reminders = forms.BooleanField(
        label=_("E-mail me reminders (unread registered mail, payments falling due)"), required=False
    )

    def __init__(self, *args, activated: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # Activation needs an address to notify; without activation it stays optional.
        self.fields["email"].required = activated


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=REPLY_MAX_CHARS,
        error_messages={"required": _("Write your reply.")},
    )
    attachment = forms.FileField(label=_("Attach a PDF (optional)"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return None
        if upload.size > settings.EBOX_MAX_ATTACHMENT_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(mb)s MB)."),
                params={"mb": settings.EBOX_MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            )
        upload.seek(0)
        # The type is checked from the bytes, never trusted from the browser.
        if upload.read(5) != b"%PDF-":
            raise forms.ValidationError(_("Only PDF files can be attached."))
        if refusal(upload, "application/pdf"):
            raise forms.ValidationError(
                _("This PDF cannot be accepted: it contains scripts, embedded files or other active content.")
            )
        upload.seek(0)
        return upload


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    organisation = forms.TypedChoiceField(label=_("Organisation"), required=False, coerce=int, empty_value=None)
    type = forms.TypedChoiceField(label=_("Type of message"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(
        label=_("Read or not"),
        required=False,
        choices=[("", _("All")), ("unread", _("Unread")), ("read", _("Read"))],
    )
    registered = forms.BooleanField(label=_("Registered mail only"), required=False)

    def __init__(self, *args, organisations=(), types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [("", _("All organisations"))] + [(o.pk, o.name()) for o in organisations]
        self.fields["type"].choices = [("", _("All types"))] + [(t.pk, translate(t.name)) for t in types]
