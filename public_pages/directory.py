"""The public directory of sending organisations: the filter form and the query (selectors only).

There are hundreds of organisations, not millions: category and region filter in SQL,
and the name search runs in Python so that it ignores accents and case in every
language ("liege" finds "CPAS de Liège", "financien" finds "FOD Financiën").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django import forms
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ebox.i18n import CONTENT_LANGUAGES, translate
from senders.models import MessageType, Organisation

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class DirectoryFilter(forms.Form):
    """Query parameters of /organisations/ and /organisations.json."""

    q = forms.CharField(
        label=_("Name or enterprise number"),
        required=False,
        max_length=100,
        strip=True,
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *Organisation.Category.choices],
    )
    region = forms.ChoiceField(
        label=_("Region"),
        required=False,
        choices=[("", _("All regions")), *Organisation.Region.choices],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    page_size = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, widget=forms.HiddenInput)


def fold(text: str) -> str:
    """Lower case without accents, for matching names typed without them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _enterprise_digits(query: str) -> str | None:
    """The digits of something that looks like (part of) an enterprise number: `BE 0308.357.159`, `308357`."""
    compact = re.sub(r"[\s.\-/]", "", query.upper())
    compact = compact.removeprefix("BE")
    return compact if len(compact) >= 3 and compact.isdigit() else None


@dataclass
class DirectoryEntry:
    organisation: Organisation
    name: str
    long_name: str
    message_types: list[tuple[str, str]]  # (id, name in the current language)


def search_organisations(q: str = "", category: str = "", region: str = "", language: str | None = None) -> list:
    """Organisations matching the filters, sorted by their name in `language` (accents ignored)."""
    organisations = Organisation.objects.prefetch_related(
        Prefetch("message_types", queryset=MessageType.objects.order_by("message_type_id"))
    )
    if category:
        organisations = organisations.filter(category=category)
    if region:
        organisations = organisations.filter(region=region)
    words = fold(q).split()
    digits = _enterprise_digits(q) if q else None
    entries = []
    for organisation in organisations:
        if q:
            by_number = digits is not None and digits in organisation.enterprise_number
            haystack = fold(
                " ".join(
                    str(names.get(lang, ""))
                    for names in (organisation.short_name or {}, organisation.long_name or {})
                    for lang in CONTENT_LANGUAGES
                )
            )
            if not by_number and not all(word in haystack for word in words):
                continue
        entries.append(
            DirectoryEntry(
                organisation=organisation,
                name=organisation.name(language),
                long_name=translate(organisation.long_name, language),
                message_types=[
                    (t.message_type_id, translate(t.name, language)) for t in organisation.message_types.all()
                ],
            )
        )
    entries.sort(key=lambda e: (fold(e.name), e.organisation.enterprise_number))
    return entries


def logo_url(organisation: Organisation) -> str | None:
    if not organisation.logo:
        return None
    return reverse("public:organisation-logo", args=[organisation.enterprise_number])


def as_json(entry: DirectoryEntry, absolute) -> dict:
    """One organisation in /organisations.json: names in every language, so clients pick theirs."""
    organisation = entry.organisation
    logo = logo_url(organisation)
    return {
        "enterpriseNumber": organisation.enterprise_number,
        "name": {k: v for k, v in (organisation.short_name or {}).items() if v},
        "longName": {k: v for k, v in (organisation.long_name or {}).items() if v},
        "category": organisation.category,
        "categoryLabel": str(organisation.get_category_display()),
        "region": organisation.region,
        "regionLabel": str(organisation.get_region_display()),
        "joinedOn": organisation.joined_on.isoformat(),
        "website": {k: v for k, v in (organisation.website or {}).items() if v},
        "logoUrl": absolute(logo) if logo else None,
        "messageTypes": [
            {"messageTypeId": t.message_type_id, "name": {k: v for k, v in (t.name or {}).items() if v}}
            for t in organisation.message_types.all()
        ],
    }
