"""Benchmark: validating a campaign of 100,000 rows (a CSV and a ZIP of one PDF per row), against
parsing the same CSV alone, measured in one run.

    .venv/bin/python bench/campaign_validation.py [--rows 100000]

On private embedded services (bench/common.py). Every row names its own PDF, a different
citizen, a subject and body in two languages with a `{name}` placeholder, and payment data.
Printed, in rows/s:
- baseline: reading the CSV (campaigns.spreadsheet: decode, sniff, split every row);
- zip: checking every PDF of the ZIP (names, sizes, magic, ebox.file_safety);
- validation: every row → messageToPublish → the API's validator (senders.publication),
  each row's PDF read from the ZIP and checked again as the API checks a part;
- upload: `upload_campaign`, what the web request does (the first row read, the files encrypted
  and kept, the campaign `validating`);
- check: `validating.validate_campaign`, what the Celery task does (the files decrypted, the ZIP,
  every row through the validator, the rows stored chunk by chunk),
and the ratio of each to the baseline. The target: the upload request far under 60 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.batch import national_numbers  # noqa: E402


def make_files(rows: int) -> tuple[bytes, bytes]:
    from ebox.pdf import simple_pdf

    numbers = national_numbers(rows)
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(["recipient", "name", "subject_fr", "subject_nl", "body_fr", "body_nl", "pdf",
                     "payment_reference", "payment_amount", "payment_due_date", "payment_iban"])  # fmt: skip
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i, number in enumerate(numbers):
            name = f"letter-{i:06d}.pdf"
            zf.writestr(name, simple_pdf(f"Avertissement {i}", [f"Dossier {i}", "Montant: 125,50 EUR"]))
            writer.writerow([number, f"Personne {i}", "Votre avertissement-extrait de rôle", "Uw aanslagbiljet",
                             "Bonjour {name}, voici votre avertissement.", "Beste {name}, hier is uw aanslagbiljet.",
                             name, f"+++090/9337/{i % 100000:05d}+++", "125,50", "2027-01-31",
                             "BE71096123456769"])  # fmt: skip
    return ("\ufeff" + text.getvalue()).encode(), archive.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data_dir = common.setup_django()
    try:
        run(args.rows)
    finally:
        common.teardown(data_dir)


def run(rows: int) -> None:
    from django.conf import settings

    from campaigns import documents as zips
    from campaigns.models import Campaign
    from campaigns.services import uploading, validating
    from campaigns.spreadsheet import read_sheet
    from senders.models import MessageType
    from senders.publication.new_message import Context

    application = common.make_sender().sender_application
    message_type = MessageType.objects.get(message_type_id="tax")
    sheet_bytes, zip_bytes = make_files(rows)
    print(f"{rows} rows: CSV {len(sheet_bytes) / 1e6:.1f} MB, ZIP {len(zip_bytes) / 1e6:.1f} MB")

    t0 = time.perf_counter()
    sheet = read_sheet(io.BytesIO(sheet_bytes), "csv", settings.EBOX_CAMPAIGN_MAX_ROWS)
    parsed = sum(1 for _ in sheet.rows)
    baseline = time.perf_counter() - t0
    assert parsed == rows

    t0 = time.perf_counter()
    zips.check_zip(io.BytesIO(zip_bytes))
    zip_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    sheet = read_sheet(io.BytesIO(sheet_bytes), "csv", settings.EBOX_CAMPAIGN_MAX_ROWS)
    documents = zips.Documents(io.BytesIO(zip_bytes))
    context = Context.for_application(application, preload=True)
    validation = uploading.validate(sheet, documents, context, "tax")
    validation_seconds = time.perf_counter() - t0
    assert validation.ok, validation.errors[:3]

    t0 = time.perf_counter()
    campaign = uploading.upload_campaign(
        sender_application=application,
        message_type=message_type,
        name="bench",
        spreadsheet=io.BytesIO(sheet_bytes),
        spreadsheet_name="bench.csv",
        documents=io.BytesIO(zip_bytes),
    )
    upload_seconds = time.perf_counter() - t0
    assert campaign.status == Campaign.Status.VALIDATING

    t0 = time.perf_counter()
    assert validating.validate_campaign(campaign.pk) == Campaign.Status.READY
    check_seconds = time.perf_counter() - t0
    campaign.refresh_from_db()
    assert campaign.row_count == rows

    def line(label: str, seconds: float) -> str:
        return (
            f"{label:<12} {seconds:7.2f} s  {rows / seconds:10,.0f} rows/s  "
            f"ratio to baseline {seconds / baseline:6.1f}x"
        )

    print(line("baseline", baseline))
    print(line("zip", zip_seconds))
    print(line("validation", validation_seconds))
    print(line("upload", upload_seconds))
    print(line("check", check_seconds))
    verdict = "under" if upload_seconds < 60 else "OVER"
    print(f"upload request of {rows} rows: {upload_seconds:.1f} s ({verdict} the 60 s target); "
          f"the worker's check: {check_seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
