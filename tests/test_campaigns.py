"""Campaigns: a spreadsheet and a ZIP validated row by row with the API's validator, then sent in
chunks through the batch service by a real Celery worker (killed on purpose in one test)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import TestCase, override_settings
from django.utils import translation
from openpyxl import Workbook

from audit.models import AuditEntry
from campaigns import selectors
from campaigns.models import Campaign, CampaignRow
from campaigns.services import sending, uploading, validating
from ebox.pdf import simple_pdf
from messages.models import Message
from messages.services import sealing
from tests.campaign_support import campaign_files, zip_of
from tests.test_publication import integrator  # noqa: F401 - fixture: an integrator of the API

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The services answer in the active language (the pages' tests ask for English too)."""
    with translation.override("en"):
        yield


def upload(sender_application, message_type, sheet: bytes, documents: bytes | None, name: str = "letters.csv"):
    """The upload (its task is not queued: the test's transaction never commits), then the check as the task runs it."""
    campaign = uploading.upload_campaign(
        sender_application=sender_application,
        message_type=message_type,
        name="Avertissements 2026",
        spreadsheet=io.BytesIO(sheet),
        spreadsheet_name=name,
        documents=io.BytesIO(documents) if documents is not None else None,
    )
    assert campaign.status == Campaign.Status.VALIDATING and not CampaignRow.objects.filter(campaign=campaign).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the files removed if it is invalid
        validating.validate_campaign(campaign.pk)
    campaign.refresh_from_db()
    return campaign


def invalid(campaign: Campaign) -> list[uploading.CellError]:
    """The problems of a campaign the check refused (its rows and files already gone)."""
    assert campaign.status == Campaign.Status.INVALID
    assert not CampaignRow.objects.filter(campaign=campaign).exists()
    return selectors.cell_errors(campaign)


def stored_blobs() -> set[str]:
    folder = Path(settings.DATA_DIR) / "blobs" / "campaigns"
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


def test_three_bad_rows_of_a_thousand_are_named_by_cell_then_the_fixed_file_is_kept(sender_application, message_type):
    before = stored_blobs()
    broken = {9: ("recipient", "85073003399"), 499: ("payment_amount", "douze"), 899: ("pdf", "missing.pdf")}
    sheet, documents, _ = campaign_files(1000, broken)
    campaign = upload(sender_application, message_type, sheet, documents)
    errors = invalid(campaign)
    assert [(e.row, e.column, e.letter) for e in errors] == [
        (11, "recipient", "A"),
        (501, "payment_amount", "H"),
        (901, "pdf", "F"),
    ]
    assert "85073003399" in errors[0].message
    assert "number" in errors[1].message
    assert "missing.pdf" in errors[2].message
    assert campaign.error_count == 3 and campaign.row_count == 1000 and campaign.validated_rows == 1000
    assert not CampaignRow.objects.exists() and stored_blobs() == before

    sheet, documents, numbers = campaign_files(1000)
    campaign = upload(sender_application, message_type, sheet, documents)
    assert campaign.status == Campaign.Status.READY and campaign.row_count == 1000
    rows = list(CampaignRow.objects.filter(campaign=campaign).order_by("number"))
    assert [r.number for r in rows] == list(range(2, 1002))
    assert [r.recipient_id for r in rows] == numbers
    assert len(stored_blobs() - before) == 2
    assert not Message.objects.exists()  # nothing is sent before the person says so


def test_the_api_validator_decides_a_rule_the_campaign_never_wrote(sender_application, message_type):
    """The message type column must name one of the organisation's types: the API's rule, named by cell."""
    sheet = b"recipient,subject_fr,body_fr,message_type\n85073003328,Sujet,Texte,nope\n"
    (error,) = invalid(upload(sender_application, message_type, sheet, None))
    assert (error.row, error.column, error.letter) == (2, "message_type", "D")
    assert "is not a message type of organisation" in error.message


def test_csv_with_commas_and_no_bom_and_xlsx_are_read_alike(sender_application, message_type):
    csv_campaign = upload(
        sender_application, message_type, b"recipient,subject_fr,body_fr\n85.07.30-033.28,Sujet,Bonjour\n", None
    )
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Recipient", "subject_nl", "body_nl", "payment_reference", "payment_amount", "payment_due_date",
                  "payment_iban"])  # fmt: skip
    sheet.append([85073003328, "Onderwerp", "Tekst", "REF", 12.5, dt.date(2027, 1, 31), "BE71096123456769"])
    sheet.append([308357159, "Onderwerp", "Tekst", None, None, None, None])  # an enterprise number read as a number
    data = io.BytesIO()
    workbook.save(data)
    xlsx_campaign = upload(sender_application, message_type, data.getvalue(), None, name="brieven.xlsx")
    assert csv_campaign.row_count == 1 and xlsx_campaign.row_count == 2
    assert list(xlsx_campaign.rows.order_by("number").values_list("recipient_id", flat=True)) == [
        "85073003328",
        "0308357159",
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"../../etc/evil.pdf": simple_pdf("x", [])}, "outside its folder"),
        ({"letters/a.pdf": b"MZ\x90\x00 not a pdf"}, "is not a PDF"),
        ({"a.pdf": simple_pdf("x", []), "b/a.pdf": simple_pdf("y", [])}, "Two files"),
    ],
)
def test_a_bad_zip_is_refused_and_nothing_is_stored(sender_application, message_type, files, expected):
    before = stored_blobs()
    sheet = b"recipient;subject_fr;pdf\n85073003328;Sujet;a.pdf\n"
    campaign = upload(sender_application, message_type, sheet, zip_of(files))
    (problem,) = invalid(campaign)  # about the whole file: no row, no column
    assert (problem.row, problem.column) == (0, "") and expected in problem.text and expected in campaign.refusal
    assert stored_blobs() == before


def test_a_pdf_with_active_content_is_named_by_the_row_that_uses_it(sender_application, message_type):
    sheet = b"recipient;subject_fr;pdf\n85073003328;Sujet;a.pdf\n85073003328;Sujet;b.pdf\n"
    script = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF"
    campaign = upload(sender_application, message_type, sheet, zip_of({"a.pdf": simple_pdf("x", []), "b.pdf": script}))
    (error,) = invalid(campaign)
    assert (error.row, error.column) == (3, "pdf") and "active content" in error.message


def test_a_zip_bomb_and_a_fake_zip_are_refused(sender_application, message_type):
    before = stored_blobs()
    sheet = b"recipient;subject_fr;pdf\n85073003328;Sujet;a.pdf\n"
    bomb = zip_of({"a.pdf": b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)})
    assert len(bomb) < 20_000  # 3 MB of zeros compress to a few kB
    with override_settings(EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES=1024 * 1024):
        assert "uncompressed" in upload(sender_application, message_type, sheet, bomb).refusal
    with override_settings(EBOX_CAMPAIGN_MAX_FILES=2):
        many = zip_of({f"{i}.pdf": simple_pdf("x", []) for i in range(3)})
        assert "more than 2 files" in upload(sender_application, message_type, sheet, many).refusal
    assert "not a ZIP" in upload(sender_application, message_type, sheet, b"PK\x03\x04 truncated").refusal
    assert set(Campaign.objects.values_list("status", flat=True)) == {"invalid"} and stored_blobs() == before


def test_a_cancelled_campaign_sends_nothing(sender_application, message_type, django_capture_on_commit_callbacks):
    sheet, documents, _ = campaign_files(20)
    before = stored_blobs()
    campaign = upload(sender_application, message_type, sheet, documents)
    with django_capture_on_commit_callbacks(execute=True):
        sending.cancel_campaign(campaign)
    assert sending.send_campaign(campaign.pk) == 0
    with pytest.raises(sending.NotAllowed):
        sending.start_sending(campaign)
    assert not Message.objects.exists()
    assert set(CampaignRow.objects.values_list("status", flat=True)) == {CampaignRow.Status.CANCELLED}
    assert stored_blobs() == before  # the files go with the campaign


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, EBOX_CAMPAIGN_CHUNK_ROWS=7)
def test_sending_in_chunks_twice_stores_each_row_once_and_the_report_lists_every_row(
    sender_application, message_type, monkeypatch
):
    monkeypatch.setattr("ebox.dispatch.send_task", lambda *a, **k: None)  # no broker here: run the service
    sheet, documents, numbers = campaign_files(30)
    campaign = upload(sender_application, message_type, sheet, documents)
    sending.start_sending(campaign)
    assert sending.send_campaign(campaign.pk) == 30
    assert sending.send_campaign(campaign.pk) == 0  # a second run (a redelivered task) sends nothing
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert Message.objects.count() == 30
    report = list(selectors.report_rows(campaign))
    assert [r[0] for r in report] == list(range(2, 32)) and [r[1] for r in report] == numbers
    assert {r[4] for r in report} == {"published"}
    assert {str(r[2]) for r in report} == {str(i) for i in Message.objects.values_list("id", flat=True)}
    progress = selectors.progress(campaign)
    assert (progress.published, progress.total, progress.failed) == (30, 30, 0)
    # Every chunk is in the audit trail with the letters it stored.
    chunks = AuditEntry.objects.filter(url=f"/sender/campaigns/{campaign.pk}/send")
    assert chunks.count() == 5
    assert sum(len(e.ids) - 1 for e in chunks) == 30


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_and_seals_a_thousand_rows_and_a_killed_worker_duplicates_none(
    celery_worker_factory, sender_application, message_type
):
    sheet, documents, _ = campaign_files(1000)
    campaign = upload(sender_application, message_type, sheet, documents)
    worker = celery_worker_factory(concurrency=2, EBOX_CAMPAIGN_CHUNK_ROWS="40")
    sending.start_sending(campaign)
    wait_for(lambda: selectors.progress(campaign).published >= 120, 120, "a few chunks")
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool die mid-campaign
    worker.wait(10)
    published = selectors.progress(campaign).published
    assert 120 <= published < 1000

    celery_worker_factory(concurrency=2, EBOX_CAMPAIGN_CHUNK_ROWS="40")
    assert sending.resume_sending(stalled_after=dt.timedelta(0)) == 1  # beat's job, run now
    wait_for(lambda: selectors.progress(campaign).published == 1000, 240, "every row published")
    # Seal tasks queued by the killed worker died with it: beat's re-dispatch seals those letters.
    sealing.redispatch_pending(older_than=dt.timedelta(0))
    wait_for(lambda: selectors.progress(campaign).sealed == 1000, 120, "every letter sealed")

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    progress = selectors.progress(campaign)
    assert (progress.published, progress.sealed, progress.failed) == (1000, 1000, 0)
    keys = list(Message.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 1000  # no row twice
    assert set(CampaignRow.objects.values_list("message_id", flat=True)) == set(
        Message.objects.values_list("id", flat=True)
    )


def receive(sender_application, message_type, sheet: bytes, documents: bytes | None) -> Campaign:
    """The upload as the page makes it: committed, so its check is queued for the real worker."""
    started = time.monotonic()
    campaign = uploading.upload_campaign(
        sender_application=sender_application, message_type=message_type, name="Rôles",
        spreadsheet=io.BytesIO(sheet), spreadsheet_name="letters.csv", documents=io.BytesIO(documents),
    )  # fmt: skip
    assert time.monotonic() - started < 5  # the rows are not checked in the request
    assert campaign.status == Campaign.Status.VALIDATING and campaign.validated_rows == 0
    return campaign


def status_of(campaign: Campaign) -> str:
    campaign.refresh_from_db()
    return campaign.status


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_the_rows_and_names_the_three_bad_ones(
    celery_worker_factory, sender_application, message_type
):
    broken = {9: ("recipient", "85073003399"), 499: ("payment_amount", "douze"), 899: ("pdf", "missing.pdf")}
    sheet, documents, _ = campaign_files(1000, broken)
    campaign = receive(sender_application, message_type, sheet, documents)
    celery_worker_factory(EBOX_CAMPAIGN_CHECK_CHUNK_ROWS="300")
    wait_for(lambda: status_of(campaign) != Campaign.Status.VALIDATING, 120, "the check")
    errors = invalid(campaign)
    assert [(e.row, e.column) for e in errors] == [(11, "recipient"), (501, "payment_amount"), (901, "pdf")]
    assert (campaign.error_count, campaign.validated_rows) == (3, 1000)
    assert sending.send_campaign(campaign.pk) == 0 and not Message.objects.exists()
    with pytest.raises(sending.NotAllowed):
        sending.start_sending(campaign)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_checking_is_resumed_by_beat_and_the_check_completes_once(
    celery_worker_factory, sender_application, message_type
):
    sheet, documents, numbers = campaign_files(6000)
    campaign = receive(sender_application, message_type, sheet, documents)
    worker = celery_worker_factory(EBOX_CAMPAIGN_CHECK_CHUNK_ROWS="100")
    deadline = time.monotonic() + 120
    while Campaign.objects.values_list("validated_rows", flat=True).get(pk=campaign.pk) < 300:
        assert time.monotonic() < deadline, "the check never started"
        time.sleep(0.02)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool die mid-check
    worker.wait(10)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.VALIDATING and 300 <= campaign.validated_rows < 6000
    assert CampaignRow.objects.filter(campaign=campaign).count() == campaign.validated_rows  # whole chunks only

    celery_worker_factory(EBOX_CAMPAIGN_CHECK_CHUNK_ROWS="100")
    assert validating.resume_validating(stalled_after=dt.timedelta(0)) == 1  # beat's job, run now
    wait_for(lambda: status_of(campaign) == Campaign.Status.READY, 240, "the check resumed and finished")
    assert (campaign.row_count, campaign.validated_rows, campaign.error_count) == (6000, 6000, 0)
    rows = list(CampaignRow.objects.filter(campaign=campaign).order_by("number").values_list("number", "recipient_id"))
    assert rows == [(i + 2, n) for i, n in enumerate(numbers)]  # every row once
    assert AuditEntry.objects.filter(url="sender-portal:campaign_ready").count() == 1
    assert validating.resume_validating(stalled_after=dt.timedelta(0)) == 0
    assert not Message.objects.exists()


# --- The pages (sender_portal/campaign_views.py), through Django's test client ---------------------


@pytest.fixture
def civil_servant(client, organisation):
    from sender_portal import services as portal
    from sender_portal.models import SenderRole
    from tests.factories import CitizenFactory
    from tests.test_sender_portal import log_in

    def as_role(role: str = SenderRole.Role.SENDER):
        person = CitizenFactory()
        portal.grant_role(organisation, person.national_number, role)
        return log_in(client, person)

    return as_role


def check_now(campaign: Campaign) -> str:
    """What the worker runs once the upload commits (these tests' transactions never do)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return validating.validate_campaign(campaign.pk)


def post_campaign(client, sheet: bytes, documents: bytes | None, name: str = "letters.csv", type_id: str = ""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"name": "Rôles 2026", "message_type": type_id, "spreadsheet": SimpleUploadedFile(name, sheet)}
    if documents is not None:
        data["documents"] = SimpleUploadedFile("letters.zip", documents, content_type="application/zip")
    return client.post("/sender/campaigns/", data)


def test_the_pages_show_the_cells_to_fix_then_send_cancel_and_report(
    client, civil_servant, message_type, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.browser import assert_sound_html

    civil_servant()
    page = client.get("/sender/campaigns/")
    assert page.status_code == 200 and "Download the template (CSV)" in page.content.decode()
    assert_sound_html(page.content.decode())

    broken = {9: ("recipient", "85073003399"), 499: ("payment_amount", "douze"), 899: ("pdf", "missing.pdf")}
    sheet, documents, _ = campaign_files(1000, broken)
    response = post_campaign(client, sheet, documents, type_id=message_type.message_type_id)
    assert response.status_code == 302
    refused = Campaign.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert refused.status == "validating" and "Checking rows… 0 of 1000" in page and "Send 1000" not in page
    assert_sound_html(page)
    assert check_now(refused) == "invalid"
    html = client.get(response["Location"]).content.decode()
    assert "The spreadsheet has 3 problems" in html and "Send 1000" not in html
    assert_sound_html(html)
    cells = re.findall(r'<td data-label="Row">(\d+)</td>\s*<td data-label="Column">([^<]+)</td>', html)
    assert cells == [("11", "A (recipient)"), ("501", "H (payment_amount)"), ("901", "F (pdf)")]
    assert client.get(f"/sender/campaigns/{refused.pk}/progress.json").json()["errors"] == 3

    sheet, documents, numbers = campaign_files(1000)
    response = post_campaign(client, sheet, documents, type_id=message_type.message_type_id)
    assert response.status_code == 302
    campaign = Campaign.objects.exclude(pk=refused.pk).get()
    assert response["Location"] == f"/sender/campaigns/{campaign.pk}/"
    progress = client.get(f"/sender/campaigns/{campaign.pk}/progress.json").json()
    assert (progress["status"], progress["checked"], progress["total"]) == ("validating", 0, 1000)
    assert check_now(campaign) == "ready"
    page = client.get(response["Location"]).content.decode()
    assert "0 of 1000 letters published" in page and "Send 1000 letters" in page
    assert_sound_html(page)

    sent_tasks = []
    monkeypatch.setattr("ebox.dispatch.send_task", lambda name, *args: sent_tasks.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/sender/campaigns/{campaign.pk}/send/").status_code == 302
    assert sent_tasks == [("campaigns.send_campaign", (str(campaign.pk),))]
    sending.send_campaign(campaign.pk)  # what the worker runs
    progress = client.get(f"/sender/campaigns/{campaign.pk}/progress.json").json()
    assert (progress["published"], progress["total"], progress["status"]) == (1000, 1000, "sent")
    assert "1000 of 1000 letters published" in client.get(f"/sender/campaigns/{campaign.pk}/").content.decode()
    # A sent campaign cannot be cancelled any more.
    client.post(f"/sender/campaigns/{campaign.pk}/cancel/")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT

    report = client.get(f"/sender/campaigns/{campaign.pk}/report.csv")
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["row", "recipient", "message id", "channel", "status", "error"]
    assert [line[1] for line in lines[1:]] == numbers and {line[4] for line in lines[1:]} == {"published"}
    assert len({line[2] for line in lines[1:]}) == 1000

    actions = list(
        AuditEntry.objects.filter(url__startswith="sender-portal:campaign").order_by("id").values_list("url", "actor")
    )
    assert [url for url, _ in actions] == [
        "sender-portal:campaign_upload", "sender-portal:campaign_invalid",
        "sender-portal:campaign_upload", "sender-portal:campaign_ready", "sender-portal:campaign_send",
    ]  # fmt: skip
    actions = [(url, actor) for url, actor in actions if url.endswith(("_upload", "_send"))]
    assert all("roles:sender" in actor for _, actor in actions)
    assert AuditEntry.objects.filter(url=f"/sender/campaigns/{campaign.pk}/report.csv").exists()


def test_a_bad_zip_is_a_form_error_and_a_viewer_cannot_send(client, civil_servant, message_type):
    civil_servant()
    sheet = b"recipient;subject_fr;pdf\n85073003328;Sujet;a.pdf\n"
    response = post_campaign(client, sheet, zip_of({"../a.pdf": simple_pdf("x", [])}),
                             type_id=message_type.message_type_id)  # fmt: skip
    assert response.status_code == 302 and check_now(Campaign.objects.get()) == "invalid"
    assert "The ZIP names a file outside its folder: ../a.pdf" in client.get(response["Location"]).content.decode()
    client.cookies["ebox_language"] = "fr"  # kept untranslated by the worker, shown in the reader's language
    assert (
        "Le ZIP désigne un fichier hors de son dossier : ../a.pdf" in client.get(response["Location"]).content.decode()
    )
    client.cookies["ebox_language"] = "en"
    response = post_campaign(client, b"\xff\xfe not utf-8", None, type_id=message_type.message_type_id)
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    assert Campaign.objects.count() == 1

    civil_servant("statistics")
    page = client.get("/sender/campaigns/").content.decode()
    assert "Check the spreadsheet" not in page
    assert post_campaign(client, sheet, None, type_id=message_type.message_type_id).status_code == 403


def test_the_template_downloaded_is_a_campaign_that_validates(client, civil_servant, message_type):
    civil_servant()
    template = client.get("/sender/campaigns/template.csv")
    assert template["Content-Type"].startswith("text/csv")
    response = post_campaign(client, template.content, zip_of({"letter-0001.pdf": simple_pdf("Lettre", [])}),
                             name="campaign-template.csv", type_id=message_type.message_type_id)  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert check_now(Campaign.objects.get()) == "ready" and Campaign.objects.get().row_count == 1


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("fr", ["Télécharger le modèle (CSV)", "Le tableur présente 1 problème", "Ligne", "Colonne"]),
        ("nl", ["Het sjabloon downloaden (CSV)", "Het rekenblad bevat 1 probleem", "Rij", "Kolom"]),
        ("de", ["Die Vorlage herunterladen (CSV)", "Die Tabelle weist 1 Problem auf", "Zeile", "Spalte"]),
    ],
)
def test_the_campaign_page_speaks_the_civil_servants_language(client, civil_servant, message_type, language, texts):
    civil_servant()
    client.cookies["ebox_language"] = language
    sheet = b"recipient;subject_fr;body_fr\n85073003399;Sujet;Texte\n"
    response = post_campaign(client, sheet, None, type_id=message_type.message_type_id)
    assert response.status_code == 302 and check_now(Campaign.objects.get()) == "invalid"
    html = client.get("/sender/campaigns/").content.decode() + client.get(response["Location"]).content.decode()
    for text in texts:
        assert text in html


# --- The validator's messages in the clerk's language (the API stays English) ----------------------

IBAN_EN = "not a valid IBAN: The number's checksum or check digit is invalid."
IBAN_FR = "IBAN non valable : les chiffres de contrôle sont incorrects."


def test_a_french_clerk_reads_the_iban_error_in_french_on_the_campaign_page_and_the_send_form(
    client, civil_servant, message_type
):
    from tests.test_sender_portal import letter_form

    civil_servant()
    client.cookies["ebox_language"] = "fr"
    sheet, documents, _ = campaign_files(3, {1: ("payment_iban", "BE00000000000000")})
    response = post_campaign(client, sheet, documents, type_id=message_type.message_type_id)
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and check_now(campaign) == "invalid"
    campaign.refresh_from_db()
    (error,) = selectors.cell_errors(campaign)
    assert (error.row, error.column, error.message) == (3, "payment_iban", IBAN_EN)  # stored untranslated
    html = client.get(response["Location"]).content.decode()
    assert "Le tableur présente 1 problème" in html and IBAN_FR in html and IBAN_EN not in html
    cells = re.findall(r"<tr>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>([^<]+)</td>", html)
    assert cells == [("3", "J (payment_iban)", IBAN_FR)]

    form = letter_form(message_type, national_numbers_one(), amount="120.00", iban="BE00 0000 0000 0000",
                       due_date="2027-01-31")  # fmt: skip
    html = client.post("/sender/send/", form).content.decode()
    assert f"paymentData.iban: {IBAN_FR}" in html and IBAN_EN not in html  # the field path kept verbatim

    client.cookies["ebox_language"] = "en"
    html = client.post("/sender/send/", form).content.decode()
    assert f"paymentData.iban: {IBAN_EN.replace(chr(39), '&#x27;')}" in html


def national_numbers_one() -> str:
    from tests.campaign_support import national_numbers

    return national_numbers(1)[0]


def test_the_api_still_answers_the_iban_error_in_english_to_a_french_client(integrator, pdf_bytes):  # noqa: F811
    from tests.test_publication import message_json, pdf_part, publish

    data = message_json(paymentData={"paymentDataId": "p1", "amount": 10, "vatAmount": 0, "currency": "EUR",
                                     "dueDate": "2030-01-01", "iban": "BE00 0000 0000 0000"})  # fmt: skip
    response = publish(integrator, data, {"upfile1": pdf_part(pdf_bytes)}, headers={"Accept-Language": "fr"})
    body = response.json()
    assert response.status_code == 400
    assert body["details"] == [{"kind": "invalid", "ref": "paymentData.iban", "message": IBAN_EN}]
    assert f"paymentData.iban: {IBAN_EN}" in body["message"]
    assert set(body) >= {"code", "message", "details"}
