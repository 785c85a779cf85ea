"""The form of one letter (the portal's "Send a letter" page). It checks what a person can fix in the
form; the publication rules themselves are checked by senders.publication, as for the API."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sender_portal import selectors
from senders.models import MessageType, Organisation

LANGUAGES = (("fr", _("French")), ("nl", _("Dutch")), ("de", _("German")), ("en", _("English")))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(DocumentsField, self).clean(f, initial) for f in files]


class SendForm(forms.Form):
    message_type = forms.ChoiceField(label=_("Type of letter"))
    recipient = forms.CharField(
        label=_("Recipient"),
        max_length=20,
        help_text=_("National register or BIS number (11 digits) of a person, or enterprise number (10 digits)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "data-recipient-check": ""}),
    )
    documents = DocumentsField(
        label=_("PDF documents"),
        required=False,
        help_text=_("The first PDF is the letter itself; without a PDF, the text below is the letter."),
        widget=MultipleFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    registered_mail = forms.BooleanField(label=_("Registered letter (acknowledgement of receipt)"), required=False)
    reply_authorized = forms.BooleanField(label=_("The recipient may reply"), required=False)
    amount = forms.DecimalField(label=_("Amount to pay (EUR)"), required=False, min_value=0, decimal_places=2)
    iban = forms.CharField(label=_("Account (IBAN)"), required=False, max_length=40)
    reference = forms.CharField(label=_("Structured reference"), required=False, max_length=40)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["message_type"].choices = [
            (t.message_type_id, t.name.get(self.language(), "") or t.message_type_id)
            for t in MessageType.objects.filter(organisation=organisation)
        ]
        for code, name in LANGUAGES:
            self.fields[f"subject_{code}"] = forms.CharField(
                label=_("Subject in %(language)s") % {"language": name}, required=False, max_length=500
            )
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Text in %(language)s") % {"language": name},
                required=False,
                max_length=100_000,
                widget=forms.Textarea(attrs={"rows": 6}),
            )

    @staticmethod
    def language() -> str:
        return (get_language() or settings.LANGUAGE_CODE)[:2]

    def languages(self):
        """(code, name, subject field, body field) per language, for the template."""
        return [(code, name, self[f"subject_{code}"], self[f"body_{code}"]) for code, name in LANGUAGES]

    def clean_recipient(self) -> str:
        try:
            kind, number, channel = selectors.recipient(self.organisation, self.cleaned_data["recipient"])
        except ValidationError as exc:
            raise ValidationError(
                _("Enter a national register or BIS number (11 digits) or an enterprise number (10 digits).")
            ) from exc
        self.cleaned_data["recipient_type"] = kind
        self.cleaned_data["channel"] = channel
        return number

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(f"subject_{code}") for code, _name in LANGUAGES):
            self.add_error("subject_fr", _("Enter a subject in at least one language."))
        payment = [cleaned.get(k) for k in ("amount", "iban", "due_date")]
        if any(v not in (None, "") for v in payment) and not all(v not in (None, "") for v in payment):
            self.add_error("amount", _("For a payment, give the amount, the account and the due date."))
        if not cleaned.get("documents") and not any(cleaned.get(f"body_{code}") for code, _name in LANGUAGES):
            self.add_error("documents", _("Attach the letter as a PDF or write its text."))
        if len(cleaned.get("documents") or []) > settings.EBOX_MAX_ATTACHMENTS:
            self.add_error("documents", _("Too many documents."))
        return cleaned


# Where an error of the publication validation (its `ref`) is shown in the form.
REF_FIELDS = {
    "recipient": "recipient",
    "messageTypeId": "message_type",
    "subject": "subject_fr",
    "bodyContent": "body_fr",
    "paymentData": "amount",
    "paymentData.iban": "iban",
    "paymentData.dueDate": "due_date",
    "paymentData.amount": "amount",
    "mainContent": "documents",
    "attachments": "documents",
}


def field_for_ref(ref: str) -> str | None:
    if ref.startswith("upfile"):
        return "documents"
    while ref:
        if ref in REF_FIELDS:
            return REF_FIELDS[ref]
        ref = ref.rpartition(".")[0]
    return None
