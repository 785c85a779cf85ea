"""Campaign files for the tests: a CSV of letters and a ZIP of their PDFs, with chosen rows broken."""

from __future__ import annotations

import csv
import io
import zipfile

from ebox.pdf import simple_pdf

COLUMNS = ["recipient", "name", "subject_fr", "subject_nl", "body_fr", "pdf",
           "payment_reference", "payment_amount", "payment_due_date", "payment_iban"]  # fmt: skip


def national_numbers(count: int) -> list[str]:
    """Valid, distinct national numbers (born 1960-01-01 onwards, odd serials, mod 97)."""
    import datetime as dt

    out: list[str] = []
    day = dt.date(1960, 1, 1)
    while len(out) < count:
        for serial in range(1, 998, 2):
            first9 = f"{day:%y%m%d}{serial:03d}"
            out.append(f"{first9}{97 - int(first9) % 97:02d}")
            if len(out) == count:
                break
        day += dt.timedelta(days=1)
    return out


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
