"""Reading a campaign's spreadsheet: CSV (`,` or `;`, UTF-8 with or without BOM) or XLSX (first sheet).

Every cell comes out as a string (an empty cell as ""), so that one set of rules
(`campaigns.rows` then `senders.publication`) reads both formats the same way. Columns are
named by the header row (trimmed, lower case); data rows are numbered as a spreadsheet
program shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _


class SheetError(Exception):
    """The file cannot be read as a spreadsheet of letters (a message for the person who uploaded it)."""


@dataclass
class Sheet:
    columns: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number, cells: one per column, padded with "")


def sheet_format(file_name: str) -> str | None:
    """csv or xlsx from the file name, or None."""
    lower = file_name.lower()
    if lower.endswith(".csv") or lower.endswith(".txt"):
        return "csv"
    if lower.endswith(".xlsx"):
        return "xlsx"
    return None


def read_sheet(file: BinaryIO, file_format: str, max_rows: int) -> Sheet:
    """The header and an iterator over the data rows; SheetError when it cannot be read.

    More than `max_rows` data rows raise SheetError while iterating.
    """
    file.seek(0)
    if file_format == "xlsx":
        header, rows = _xlsx_rows(file)
    else:
        header, rows = _csv_rows(file)
    columns = [str(c or "").strip().lower() for c in header]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise SheetError(_("The first row must name the columns (recipient, subject_fr, pdf, …)."))
    seen = set()
    for name in columns:
        if name in seen:
            raise SheetError(_("The column %(name)s appears twice in the first row.") % {"name": name})
        seen.add(name)
    return Sheet(columns, _numbered(rows, len(columns), max_rows))


def _numbered(rows, width: int, max_rows: int) -> Iterator[tuple[int, list[str]]]:
    count = 0
    for number, cells in enumerate(rows, start=2):
        cells = list(cells[:width])
        if not any(cells):
            continue  # a blank line (spreadsheet programs often leave some at the end)
        count += 1
        if count > max_rows:
            raise SheetError(_("The spreadsheet has more than %(max)s rows of letters.") % {"max": max_rows})
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        yield number, cells


def _csv_rows(file: BinaryIO):
    raw = file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError(_("The CSV file is not UTF-8: save it as “CSV UTF-8”.")) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SheetError(_("The spreadsheet is empty.")) from None
    except csv.Error as exc:
        raise SheetError(str(exc)) from None
    return header, _csv_data(reader)


def _csv_data(reader) -> Iterator[list[str]]:
    try:
        for cells in reader:
            yield [c.strip() for c in cells]
    except csv.Error as exc:
        raise SheetError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from None


def _xlsx_rows(file: BinaryIO):
    import zipfile

    from openpyxl import load_workbook

    try:
        # read_only streams the sheet's XML instead of building every cell in memory.
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise SheetError(_("The file is not an XLSX workbook.")) from None
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        raise SheetError(_("The spreadsheet is empty.")) from None
    return [_cell(v) for v in header], ([_cell(v) for v in row] for row in rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()
