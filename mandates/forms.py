"""The portal's mandate form; it validates input, mandates.services decides who may grant what."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ebox.identifiers import normalise_national_number
from mandates.models import Mandate


class GrantForm(forms.Form):
    national_number = forms.CharField(
        label=_("National register number of the person"),
        help_text=_("11 digits, as on their identity card (e.g. 85.07.30-033.28)."),
        max_length=32,
        error_messages={"required": _("Enter the national register number of the person.")},
    )
    role = forms.ChoiceField(label=_("Role"))
    scope = forms.ChoiceField(
        label=_("What they may do"), choices=Mandate.Scope.choices, widget=forms.RadioSelect, initial="read"
    )
    valid_until = forms.DateField(
        label=_("Ends on (optional)"),
        help_text=_("No access from this day. Leave empty for a mandate until you revoke it."),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, enterprise: bool, **kwargs):
        super().__init__(*args, **kwargs)
        role = Mandate.Role.DELEGATE if enterprise else Mandate.Role.CHOSEN_DELEGATE
        self.fields["role"].choices = [(role.value, role.label)]
        self.fields["role"].initial = role.value

    def clean_national_number(self) -> str:
        value = self.cleaned_data["national_number"].strip()
        try:
            return normalise_national_number(value)
        except ValidationError as exc:
            raise ValidationError(
                _("%(value)s is not a valid national register number."), params={"value": value}
            ) from exc

    def clean_valid_until(self):
        value = self.cleaned_data.get("valid_until")
        if value is not None and value <= timezone.localdate():
            raise ValidationError(_("The end date must be after today."))
        return value
