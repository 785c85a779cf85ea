"""The fields of a `messageToPublish`: texts per language, booleans, the recipient, payment and business data.

Each check appends one detail per faulty field to `errors` (nothing is raised until the whole
publication is checked, see senders.publication.new_message); `PublicationError` carries them.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from ebox.i18n import CONTENT_LANGUAGES, Text
from ebox.identifiers import normalise_enterprise_number, normalise_national_number
from messages.models import Message

MAX_TEXT = 100_000  # characters per language of a body; subjects are shorter
MAX_SUBJECT = 500
MAX_IDEMPOTENCY_KEY = 200


class PublicationError(Exception):
    """Invalid publication: `status` (400, 404, 413) and one detail per faulty field."""

    def __init__(self, details: list[dict], status: int = 400, message: str | None = None):
        self.details = details
        self.status = status
        self.message = message or "; ".join(f"{d['ref']}: {d['message']}" for d in details)
        super().__init__(self.message)


def detail(ref: str, message: str, kind: str = "invalid") -> dict:
    """One faulty field. `message` in English (the API's answer); an ebox.i18n.Text (a str) is kept
    as it is, so that the portal can show it in the reader's language (ebox.i18n.localized)."""
    return {"kind": kind, "ref": ref, "message": message if isinstance(message, str) else str(message)}


def translated(value, ref: str, errors: list[dict], *, required: bool, max_length: int) -> dict[str, str] | None:
    if value is None:
        if required:
            errors.append(
                detail(ref, Text(gettext_noop("missing: give it in at least one of nl, fr, de, en")), "missing")
            )
        return None
    if not isinstance(value, dict):
        errors.append(detail(ref, Text(gettext_noop('must be an object like {"fr": "…", "nl": "…"}'))))
        return None
    unknown = sorted(set(value) - set(CONTENT_LANGUAGES))
    if unknown:
        errors.append(
            detail(
                ref,
                Text(
                    gettext_noop("unknown language(s) %(languages)s: use nl, fr, de, en"), languages=", ".join(unknown)
                ),
            )
        )
        return None
    out = {}
    for language, text in value.items():
        if text is None:
            continue
        if not isinstance(text, str):
            errors.append(detail(f"{ref}.{language}", Text(gettext_noop("must be a string"))))
            continue
        if len(text) > max_length:
            errors.append(
                detail(f"{ref}.{language}", Text(gettext_noop("longer than %(max)s characters"), max=max_length))
            )
            continue
        if text.strip():
            out[language] = text
    if not out and required:
        errors.append(detail(ref, Text(gettext_noop("empty: give it in at least one of nl, fr, de, en")), "missing"))
        return None
    return out or None


def boolean(data: dict, key: str, errors: list[dict], default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.append(detail(key, Text(gettext_noop("must be true or false"))))
        return default
    return value


def parse_recipient(value, ref: str, errors: list[dict]) -> tuple[str, str] | None:
    """An EboxId → (recipient type, compact number), or None with a detail added."""
    if not isinstance(value, dict):
        errors.append(
            detail(ref, Text(gettext_noop('missing or not an object like {"eboxType": "citizen", "eboxIdValue": "…"}')))
        )
        return None
    ebox_type = str(value.get("eboxType", "")).lower()
    number = value.get("eboxIdValue")
    if ebox_type not in (Message.RecipientType.CITIZEN, Message.RecipientType.ENTERPRISE):
        errors.append(detail(f"{ref}.eboxType", Text(gettext_noop("must be citizen or enterprise"))))
        return None
    if not isinstance(number, str) or not number:
        errors.append(detail(f"{ref}.eboxIdValue", Text(gettext_noop("missing")), "missing"))
        return None
    try:
        if ebox_type == Message.RecipientType.CITIZEN:
            return ebox_type, normalise_national_number(number)
        return ebox_type, normalise_enterprise_number(number)
    except ValidationError as exc:
        errors.append(detail(f"{ref}.eboxIdValue", exc.messages[0]))
        return None


def payment_data(value, errors: list[dict]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(detail("paymentData", Text(gettext_noop("must be an object"))))
        return None
    for key in ("paymentDataId", "amount", "vatAmount", "currency", "dueDate", "iban"):
        if value.get(key) in (None, ""):
            errors.append(detail(f"paymentData.{key}", Text(gettext_noop("missing")), "missing"))
    for key in ("amount", "vatAmount"):
        amount = value.get(key)
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0):
            errors.append(detail(f"paymentData.{key}", Text(gettext_noop("must be a number ≥ 0"))))
    currency = value.get("currency")
    if currency is not None and (not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()):
        errors.append(detail("paymentData.currency", Text(gettext_noop("must be an ISO 4217 code such as EUR"))))
    due = value.get("dueDate")
    if due is not None and (not isinstance(due, str) or not _parse_date_or_datetime(due)):
        errors.append(detail("paymentData.dueDate", Text(gettext_noop("must be a date or date-time (ISO 8601)"))))
    iban = value.get("iban")
    if iban is not None:
        problem = _iban_problem(str(iban))
        if problem:
            errors.append(detail("paymentData.iban", problem))
    return value


@functools.lru_cache(maxsize=1024)
def _iban_problem(iban: str) -> Text | None:
    """Why the IBAN is not valid, or None. Cached: a campaign's or a batch's payments usually
    share the organisation's account, and python-stdnum's bank look-up was half of a
    campaign row's validation (profiled)."""
    try:
        stdnum_iban.validate(iban)
    except StdnumError as exc:
        return Text(f"not a valid IBAN: {exc.message}")  # translated when one of IBAN_PROBLEMS
    return None


# python-stdnum's messages, as the API answers them after "not a valid IBAN: " (for the catalogue).
IBAN_PROBLEMS = (
    gettext_noop("not a valid IBAN: The number's checksum or check digit is invalid."),
    gettext_noop("not a valid IBAN: The number has an invalid format."),
    gettext_noop("not a valid IBAN: The number has an invalid length."),
    gettext_noop("not a valid IBAN: One of the parts of the number are invalid or unknown."),
)


def _parse_date_or_datetime(value: str) -> bool:
    try:
        if parse_datetime(value):
            return True
        dt.date.fromisoformat(value[:10])
        return len(value) == 10
    except ValueError:
        return False


def business_data(value, errors: list[dict]) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list):
        errors.append(detail("businessDataList", Text(gettext_noop("must be an array"))))
        return None
    for i, item in enumerate(value):
        ref = f"businessDataList[{i}]"
        if not isinstance(item, dict):
            errors.append(detail(ref, Text(gettext_noop("must be an object"))))
            continue
        if not isinstance(item.get("key"), str) or not item.get("key"):
            errors.append(detail(f"{ref}.key", Text(gettext_noop("missing")), "missing"))
        if not isinstance(item.get("values"), list):
            errors.append(detail(f"{ref}.values", Text(gettext_noop("missing or not an array")), "missing"))
    return value or None


# Our extension `paperAddress`: where the platform's paper service posts the letter when the
# recipient does not read eBox. Lengths follow bpost's address block (lines of at most 50 characters).
PAPER_ADDRESS_FIELDS = {"name": 50, "street": 50, "extra": 50, "postcode": 10, "city": 40, "country": 2}
PAPER_ADDRESS_REQUIRED = ("name", "street", "postcode", "city")


def paper_address(value, errors: list[dict]) -> dict | None:
    """`paperAddress` → {"name", "street", ["extra"], "postcode", "city", "country"} (country defaults to BE)."""
    if value is None:
        return None
    ref = "paperAddress"
    if not isinstance(value, dict):
        errors.append(
            detail(ref, Text(gettext_noop('must be an object like {"name": …, "street": …, "postcode": …, "city": …}')))
        )
        return None
    unknown = sorted(set(value) - set(PAPER_ADDRESS_FIELDS))
    if unknown:
        errors.append(
            detail(
                ref,
                Text(
                    gettext_noop("unknown field(s) %(unknown)s: use %(known)s"),
                    unknown=", ".join(unknown),
                    known=", ".join(PAPER_ADDRESS_FIELDS),
                ),
            )
        )
        return None
    before = len(errors)
    out = {}
    for name, max_length in PAPER_ADDRESS_FIELDS.items():
        text = value.get(name)
        if text is None or (isinstance(text, str) and not text.strip()):
            if name in PAPER_ADDRESS_REQUIRED:
                errors.append(detail(f"{ref}.{name}", Text(gettext_noop("missing")), "missing"))
            continue
        if not isinstance(text, str):
            errors.append(detail(f"{ref}.{name}", Text(gettext_noop("must be a string"))))
            continue
        text = " ".join(text.split())
        if len(text) > max_length or any(not c.isprintable() for c in text):
            errors.append(
                detail(
                    f"{ref}.{name}",
                    Text(gettext_noop("must be printable text of at most %(max)s characters"), max=max_length),
                )
            )
            continue
        out[name] = text
    country = out.get("country", "BE").upper()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors.append(detail(f"{ref}.country", Text(gettext_noop("must be an ISO 3166-1 alpha-2 code, e.g. BE"))))
    postcode = out.get("postcode", "")
    if country == "BE" and postcode and not (len(postcode) == 4 and postcode.isdigit()):
        errors.append(detail(f"{ref}.postcode", Text(gettext_noop("a Belgian postcode has 4 digits"))))
    if len(errors) > before:
        return None
    return {**out, "country": country}
