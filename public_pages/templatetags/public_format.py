"""Numbers on the public pages, grouped the way the reader's language writes them."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def grouped(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """12345.6 → "12 345,6" in French, "12,345.6" in English."""
    if value is None:
        return ""
    return number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


@register.filter
def percent(share: float | None) -> str:
    """0.4213 → "42,1 %" (a share of 1 written as a percentage, one decimal)."""
    if share is None:
        return "–"
    return number_format(round(share * 100, 1), decimal_pos=1, use_l10n=True) + "\u00a0%"


@register.filter
def enterprise_number(value: str) -> str:
    """0308357159 → 0308.357.159, as the KBO/BCE writes it."""
    value = str(value)
    return f"{value[:4]}.{value[4:7]}.{value[7:]}" if len(value) == 10 else value
