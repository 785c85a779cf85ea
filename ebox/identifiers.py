"""National, BIS and enterprise numbers, validated by python-stdnum (never hand-written checksums)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.be import nn, ssn, vat
from stdnum.exceptions import ValidationError as StdnumError


def normalise_national_number(value: str) -> str:
    """Return the 11 digits of a valid national register (NISS/INSZ) or BIS number.

    Accepts the formatted form `85.07.30-033.28`. Raises Django's ValidationError.
    """
    try:
        value = str(value)
        compact = value if len(value) == 11 and value.isdigit() else nn.compact(value)
        if len(compact) == 11 and compact.isdigit() and int(compact[2:4]) <= 12:
            # A national register number's month: ssn.validate would try the BIS rules first,
            # fail on the month, then run these (profiled: half of a batch item's validation).
            return nn.validate(compact)
        return ssn.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid national register or BIS number: %(reason)s"),
            code="invalid_national_number",
            params={"value": value, "reason": exc.message},
        ) from exc


def normalise_enterprise_number(value: str) -> str:
    """Return the 10 digits of a valid KBO/BCE enterprise number (accepts `BE 0406.798.006`)."""
    try:
        return vat.validate(str(value))
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid enterprise number: %(reason)s"),
            code="invalid_enterprise_number",
            params={"value": value, "reason": exc.message},
        ) from exc


def validate_national_number(value: str) -> None:
    if normalise_national_number(value) != value:
        raise ValidationError(_("Store the national number as its 11 digits."), code="not_compact")


def validate_enterprise_number(value: str) -> None:
    if normalise_enterprise_number(value) != value:
        raise ValidationError(_("Store the enterprise number as its 10 digits."), code="not_compact")


def format_national_number(value: str) -> str:
    return ssn.format(value)
