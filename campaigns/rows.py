"""A spreadsheet row → the API's `messageToPublish` (and its PDF part); the validator's details → cells.

This module only moves cells into the API's fields (and turns "12,50" into 12.5, "yes" into
true): every rule is `senders.publication.build_new_message`'s, the one the API runs, so a
value that cannot be converted is passed on as written and the validator names what is wrong.
Subjects and bodies may hold `{column}` placeholders, filled from the row's cells.

The column format is documented in docs/senders.md ("Campaigns").
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ebox.i18n import CONTENT_LANGUAGES, Text
from senders.publication.attachments import ReceivedPart

RECIPIENT = "recipient"
PDF = "pdf"
TEXT_COLUMNS = {f"{kind}_{lang}": (kind, lang) for kind in ("subject", "body") for lang in CONTENT_LANGUAGES}
PAYMENT_COLUMNS = {
    "payment_reference": "paymentDataId",
    "payment_amount": "amount",
    "payment_vat_amount": "vatAmount",
    "payment_currency": "currency",
    "payment_due_date": "dueDate",
    "payment_iban": "iban",
}
FLAG_COLUMNS = {"registered_mail": "registeredMail", "reply_authorized": "replyAuthorized"}
MESSAGE_TYPE = "message_type"
KNOWN_COLUMNS = (RECIPIENT, MESSAGE_TYPE, *TEXT_COLUMNS, PDF, *PAYMENT_COLUMNS, *FLAG_COLUMNS)
# The template offered for download: the columns most campaigns need.
TEMPLATE_COLUMNS = (
    RECIPIENT, "subject_fr", "subject_nl", "body_fr", "body_nl", PDF,
    "payment_reference", "payment_amount", "payment_due_date", "payment_iban", "name",
)  # fmt: skip
TEMPLATE_EXAMPLE = (
    "85073003328", "Votre avertissement-extrait de rôle", "Uw aanslagbiljet",
    "Bonjour {name}, voici votre avertissement-extrait de rôle.", "Beste {name}, hier is uw aanslagbiljet.",
    "letter-0001.pdf", "+++090/9337/55493+++", "125,50", "2027-01-31", "BE71096123456769", "Marie Dupont",
)  # fmt: skip

_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,64})\}")
_TRUE = {"yes", "y", "true", "1", "x", "oui", "ja", "wahr"}
_FALSE = {"no", "n", "false", "0", "non", "nee", "nein", "falsch"}
PART = "upfile1"


@dataclass
class RowMessage:
    """What a row becomes: the API's messageToPublish, its PDF (if any), and problems found on the way."""

    data: dict
    parts: dict[str, ReceivedPart] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)


def check_columns(columns: list[str]) -> str | None:
    """Why these columns cannot make letters, or None."""
    if RECIPIENT not in columns:
        return _("The first row must have a column named recipient.")
    if not any(c in columns for c in TEXT_COLUMNS if c.startswith("subject_")):
        return _("The first row must have a subject column: subject_fr, subject_nl, subject_de or subject_en.")
    return None


def _number(value: str) -> object:
    text = value.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")  # 1.234,50 (a European spreadsheet)
    try:
        return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        return value  # the validator says what a number must be


def _flag(value: str) -> object:
    lower = value.lower()
    if lower in _TRUE:
        return True
    if lower in _FALSE or not lower:
        return False
    return value


def _recipient(value: str) -> dict:
    compact = "".join(c for c in value if c.isdigit()) if not value.upper().startswith("BE") else value
    if compact.isdigit() and len(compact) == 9:
        compact = "0" + compact  # an enterprise number a spreadsheet read as a number
    if compact.isdigit() and len(compact) == 10 and compact[0] not in "01":
        compact = "0" + compact  # a national number born in 2000-2009 read as a number
    is_enterprise = value.upper().startswith("BE") or (compact.isdigit() and len(compact) == 10)
    return {"eboxType": "enterprise" if is_enterprise else "citizen", "eboxIdValue": value if not compact else compact}


def row_message(columns: list[str], cells: list[str], message_type_id: str, documents) -> RowMessage:
    """Build the row's messageToPublish (the PDF read from `documents`, a campaigns.documents.Documents)."""
    row = dict(zip(columns, cells, strict=True))
    result = RowMessage({"messageTypeId": row.get(MESSAGE_TYPE) or message_type_id})
    data = result.data
    data["recipient"] = _recipient(row[RECIPIENT])
    texts: dict[str, dict[str, str]] = {"subject": {}, "body": {}}
    for column, (kind, lang) in TEXT_COLUMNS.items():
        value = row.get(column)
        if value:
            texts[kind][lang] = _fill(value, row, column, result.errors)
    data["subject"] = texts["subject"] or None
    data["bodyContent"] = texts["body"] or None
    payment = {key: row[column] for column, key in PAYMENT_COLUMNS.items() if row.get(column)}
    if payment:
        payment.setdefault("vatAmount", "0")
        payment.setdefault("currency", "EUR")
        for key in ("amount", "vatAmount"):
            payment[key] = _number(payment[key])
        data["paymentData"] = payment
    for column, key in FLAG_COLUMNS.items():
        if column in row:
            data[key] = _flag(row[column])
    pdf = row.get(PDF, "")
    if pdf:
        if pdf not in documents:
            result.errors.append((PDF, Text(gettext_noop("no file named %(name)s in the ZIP"), name=pdf)))
        else:
            content = documents.read(pdf)
            result.parts[PART] = ReceivedPart(io.BytesIO(content), pdf, "application/pdf", len(content))
            data["attachments"] = [{"httpPartName": PART, "mainContent": True}]
    else:
        data["bodyMainContent"] = bool(data["bodyContent"])
    return result


def _fill(text: str, row: dict[str, str], column: str, errors: list[tuple[str, str]]) -> str:
    if "{" not in text:
        return text

    def value(match: re.Match) -> str:
        name = match.group(1).lower()
        if name not in row:
            errors.append((column, Text(gettext_noop("{%(name)s} names no column"), name=match.group(1))))
            return match.group(0)
        return row[name]

    return _PLACEHOLDER.sub(value, text)


def columns_of(ref: str, columns: list[str]) -> list[str]:
    """The spreadsheet columns a validator detail (`ref`, e.g. paymentData.amount) is about."""
    head, _dot, rest = ref.partition(".")
    if head == "recipient":
        return [RECIPIENT]
    if head in ("subject", "bodyContent"):
        kind = "subject" if head == "subject" else "body"
        if rest[:2] in CONTENT_LANGUAGES:
            return [f"{kind}_{rest[:2]}"]
        return [c for c in columns if c.startswith(f"{kind}_")] or [f"{kind}_fr"]
    if head == "paymentData":
        named = [c for c, key in PAYMENT_COLUMNS.items() if key == rest.split(".")[0]]
        return named or [c for c in columns if c.startswith("payment_")]
    if head == "messageTypeId":
        return [MESSAGE_TYPE]
    if head in ("registeredMail", "replyAuthorized"):
        return [c for c, key in FLAG_COLUMNS.items() if key == head]
    if head in ("mainContent", "bodyMainContent"):
        return [PDF, *(c for c in columns if c.startswith("body_"))]
    return [PDF]  # attachments[0]…, upfile1: the row's PDF


def column_letter(index: int) -> str:
    """A (0) … Z, AA … as spreadsheet programs name columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
