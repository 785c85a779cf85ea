"""Campaign files for the tests: a CSV of letters and a ZIP of their PDFs, with chosen rows broken."""

from __future__ import annotations

import csv
import io
import zipfile

from bench.batch import national_numbers as bench_numbers
from ebox.pdf import simple_pdf

COLUMNS = ["recipient", "name", "subject_fr", "subject_nl", "body_fr", "pdf",
           "payment_reference", "payment_amount", "payment_due_date", "payment_iban"]  # fmt: skip


def national_numbers(count: int) -> list[str]:
    """Valid, distinct national numbers (born 1960-01-01 onwards; bench.batch makes them)."""
    return bench_numbers(count, born_from=1960)


def campaign_files(count: int, broken: dict[int, tuple[str, str]] | None = None, delimiter: str = ";"):
    """(CSV bytes with a BOM, ZIP bytes, recipients): row i (0-based) → spreadsheet row i + 2.

    `broken`: {index: (column, value)} cells to replace; a broken `pdf` cell names a file
    missing from the ZIP.
    """
    broken = broken or {}
    numbers = national_numbers(count)
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(COLUMNS)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, number in enumerate(numbers):
            pdf = f"letter-{i:04d}.pdf"
            zf.writestr(f"letters/{pdf}", simple_pdf(f"Lettre {i}", [f"Dossier {i}"]))
            row = dict(zip(COLUMNS, [number, f"Personne {i}", "Votre avis {name}", "Uw bericht",
                                     "Bonjour {name}", pdf, f"REF-{i}", "12,50", "2027-01-31",
                                     "BE71096123456769"], strict=True))  # fmt: skip
            if i in broken:
                column, value = broken[i]
                row[column] = value
            writer.writerow([row[c] for c in COLUMNS])
    return ("\ufeff" + text.getvalue()).encode(), archive.getvalue(), numbers


def zip_of(files: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return archive.getvalue()
