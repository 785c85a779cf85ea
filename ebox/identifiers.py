"""National, BIS and enterprise numbers, validated by python-stdnum (never hand-written checksums)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.be import nn, ssn, vat
from stdnum.exceptions import ValidationError as StdnumError

# Longer than any formatted number: refused before python-stdnum converts digits to int (whose
# limit, 4,300 digits, raised a ValueError that was not a validation error).
MAX_NUMBER_LENGTH = 32


def _too_long() -> ValidationError:
    return ValidationError(
        _("Longer than %(limit)s characters: not a number."), code="too_long", params={"limit": MAX_NUMBER_LENGTH}
    )


def normalise_national_number(value: str) -> str:
    """Return the 11 digits of a valid national register (NISS/INSZ) or BIS number.

    Accepts the formatted form `85.07.30-033.28`. Raises Django's ValidationError.
    """
    value = str(value)
    if len(value) > MAX_NUMBER_LENGTH:
        raise _too_long()
    try:
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
    if len(str(value)) > MAX_NUMBER_LENGTH:
        raise _too_long()
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


def validate_mailbox_number(value: str) -> None:
    """An eBox owner's number: a person's 11 digits or an enterprise's 10 (they never collide)."""
    if len(str(value)) == 10:
        validate_enterprise_number(value)
    else:
        validate_national_number(value)


def format_national_number(value: str) -> str:
    return ssn.format(value)


def format_mailbox_number(value: str) -> str:
    """`85.07.30-033.28` for a person, `0990.000.806` for an enterprise."""
    if len(value) == 10:
        return f"{value[:4]}.{value[4:7]}.{value[7:]}"
    return ssn.format(value)


def birth_date(national_number: str):
    """The birth date a national register number encodes (None when it does not say, as BIS numbers may)."""
    try:
        return nn.get_birth_date(national_number)
    except (StdnumError, ValueError):
        return None
