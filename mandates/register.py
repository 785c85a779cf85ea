"""The official register's CSV format for `manage.py import_mandates`: read and validate every row.

Columns (header row required, UTF-8, comma-separated; see docs/operators.md):
owner_number, owner_name, representative_number, representative_name, role, scope, valid_from, valid_until.
Every row is checked before anything is stored; errors name their line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from ebox.identifiers import normalise_enterprise_number, normalise_national_number
from mandates.models import Mandate

COLUMNS = (
    "owner_number",
    "owner_name",
    "representative_number",
    "representative_name",
    "role",
    "scope",
    "valid_from",
    "valid_until",
)
REQUIRED = ("owner_number", "representative_number", "role", "scope", "valid_from")
ENTERPRISE_ROLES = {Mandate.Role.DIRECTOR.value, Mandate.Role.DELEGATE.value}
PERSON_ROLES = {Mandate.Role.PARENT.value, Mandate.Role.GUARDIAN.value, Mandate.Role.CHOSEN_DELEGATE.value}


@dataclass(frozen=True)
class RegisterRow:
    line: int
    owner_number: str
    owner_name: str
    representative_number: str
    representative_name: str
    role: str
    scope: str
    valid_from: dt.date
    valid_until: dt.date | None


def _number(value: str, enterprise: bool) -> str:
    try:
        return normalise_enterprise_number(value) if enterprise else normalise_national_number(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc


def _date(value: str, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{column} {value!r} is not a date (YYYY-MM-DD)") from exc


def _row(line: int, record: dict) -> RegisterRow:
    values = {k: (record.get(k) or "").strip() for k in COLUMNS}
    missing = [k for k in REQUIRED if not values[k]]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    role = values["role"]
    if role not in ENTERPRISE_ROLES | PERSON_ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(sorted(ENTERPRISE_ROLES | PERSON_ROLES))}")
    if values["scope"] not in Mandate.Scope.values:
        raise ValueError(f"scope {values['scope']!r} is not one of {', '.join(Mandate.Scope.values)}")
    enterprise = role in ENTERPRISE_ROLES
    owner = _number(values["owner_number"], enterprise)
    representative = _number(values["representative_number"], False)
    if owner == representative:
        raise ValueError("owner and representative are the same person")
    valid_from = _date(values["valid_from"], "valid_from")
    valid_until = _date(values["valid_until"], "valid_until") if values["valid_until"] else None
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    return RegisterRow(
        line=line,
        owner_number=owner,
        owner_name=values["owner_name"][:200],
        representative_number=representative,
        representative_name=values["representative_name"][:200],
        role=role,
        scope=values["scope"],
        valid_from=valid_from,
        valid_until=valid_until,
    )


def read_register(text: str) -> tuple[list[RegisterRow], list[str]]:
    """The file's rows, and its errors ("line N: …"); rows are to be stored only when there is no error."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    absent = [c for c in REQUIRED if c not in header]
    if absent:
        return [], [f"line 1: the header lacks {', '.join(absent)} (columns: {', '.join(COLUMNS)})"]
    reader.fieldnames = header
    rows, errors = [], []
    for record in reader:
        line = reader.line_num
        if None in record:
            errors.append(f"line {line}: more fields than the header has columns")
            continue
        try:
            rows.append(_row(line, record))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    return rows, errors
