"""Forms of the sender portal's team pages; they validate input, services change state."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ebox.identifiers import normalise_national_number
from sender_portal.models import SenderRole


class InviteForm(forms.Form):
    national_number = forms.CharField(
        label=_("National register number of your colleague"),
        max_length=20,
        help_text=_("11 digits, for example 85.07.30-033.28. They log in with it."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=SenderRole.Role.choices)

    def clean_national_number(self) -> str:
        try:
            return normalise_national_number(self.cleaned_data["national_number"])
        except ValidationError as exc:
            raise ValidationError(_("This is not a valid national register number.")) from exc
