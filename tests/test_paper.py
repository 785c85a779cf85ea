"""Issue 16, item 2: the platform's paper service. Publication queues letters for print, print runs
are written atomically (PDFs that open, manifests, checksums), the provider's acknowledgement marks
them printed, and registered letters left unacknowledged go to print; all against real services.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import os
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pypdf import PdfReader

from demo.data import PAPER_ONLY_RECIPIENT
from messages.models import Message, MessageContent, MessageEvent
from messages.services import acknowledgement, sealing
from paper.models import PrintBatch, PrintItem
from paper.selectors import print_statuses
from paper.services import batches, queueing
from senders import services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import assert_matches, assert_status_message, message_json, multipart, token_session

DIGITAL = "85073003328"
UNKNOWN = PAPER_ONLY_RECIPIENT["national_number"]  # 64090324505
ADDRESS = PAPER_ONLY_RECIPIENT["paperAddress"]


def _integrator(base_url: str, enterprise_number: str = "0207373429", app_id: str = "town-app", **org):
    organisation = services.create_organisation(enterprise_number, {"fr": "Commune de Test"}, **org)
    message_type = MessageTypeFactory(organisation=organisation, message_type_id=f"{app_id}-letter")
    issued = services.create_sender_application(organisation, app_id)
    return SimpleNamespace(
        organisation=organisation,
        message_type=message_type,
        session=token_session(base_url, issued.client_id, issued.client_secret),
        url=base_url,
    )


@pytest.fixture
def town(transactional_db, live_server):
    return _integrator(
        live_server.url, paper_service=True, return_address="Commune de Test, Place communale 1, 1000 Bruxelles"
    )


def _doc(pdf: bytes) -> dict:
    return {"fileName": "letter.pdf", "mediaType": "application/pdf", "content": base64.b64encode(pdf).decode()}


def _status(it, message_id: str) -> dict:
    answer = it.session.post(f"{it.url}/api/v2/searchMessageStatus", json=[{"messageId": message_id}])
    assert answer.status_code == 201, answer.text
    assert_matches(answer.json(), "MessagesStatusList")
    return answer.json()[0]


def _publish(it, data: dict, pdf: bytes):
    data["messageTypeId"] = data.get("messageTypeId") or it.message_type.message_type_id
    files = {"upfile1": ("letter.pdf", io.BytesIO(pdf), "application/pdf")}
    return it.session.post(f"{it.url}/api/v2/publishMessage", files=multipart(data, files))


def test_a_small_municipality_one_batch_call_then_print_run_then_acknowledgement(town, pdf_bytes, tmp_path):
    CitizenFactory(national_number=DIGITAL, activated=True)
    items = [
        {
            "messageToPublish": message_json(DIGITAL, town.message_type.message_type_id),
            "documents": {"upfile1": _doc(pdf_bytes)},
        },
        {
            "messageToPublish": message_json(UNKNOWN, town.message_type.message_type_id, paperAddress=ADDRESS),
            "documents": {"upfile1": _doc(pdf_bytes)},
        },
    ]
    answer = town.session.post(f"{town.url}/api/v2/extensions/publishMessages", json={"messages": items})
    assert answer.status_code == 200, answer.text
    digital, paper = answer.json()["items"]
    assert (digital["code"], paper["code"]) == ("digital", "paper")
    assert "paper" not in digital and paper["paper"] == {"status": "queued"}
    assert "paper service prints" in paper["message"]
    item = PrintItem.objects.get()
    assert str(item.message_id) == paper["messageId"] and item.address == {**ADDRESS, "country": "BE"}
    assert MessageEvent.objects.filter(message_id=paper["messageId"], kind="print_queued").count() == 1
    sealing.seal_messages([digital["messageId"], paper["messageId"]])

    call_command("print_batch", out=str(tmp_path), stdout=io.StringIO())

    batch = PrintBatch.objects.get()
    folder = tmp_path / batch.id
    assert sorted(p.name for p in tmp_path.iterdir()) == [batch.id]  # no temporary folder left
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{paper['messageId']}.pdf", "manifest.csv", "manifest.json", "SHA256SUMS"])
    reader = PdfReader(folder / f"{paper['messageId']}.pdf")
    assert len(reader.pages) == 1 + len(PdfReader(io.BytesIO(pdf_bytes)).pages)  # cover + the letter
    cover = reader.pages[0].extract_text()
    for text in ("Luc Janssens", "Grote Markt 1", "3000 Leuven", "Commune de Test, Place communale 1", batch.id):
        assert text in cover, (text, cover)
    assert "Test letter" in reader.pages[1].extract_text()
    rows = list(csv.DictReader(io.StringIO((folder / "manifest.csv").read_text())))
    assert [
        (r["message_id"], r["recipient_name"], r["pages"], r["sheets"], r["envelope"], r["duplex"]) for r in rows
    ] == [(paper["messageId"], "Luc Janssens", "2", "2", "DL", "False")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["batchId"] == batch.id and manifest["letters"] == 1 and manifest["duplex"] is False
    assert manifest["items"][0]["messageId"] == paper["messageId"] and manifest["items"][0]["pages"] == 2
    assert manifest["items"][0]["recipient"] == {**ADDRESS, "country": "BE"}
    sums = dict(reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    seen = _status(town, paper["messageId"])
    assert seen["channel"] == "paper" and seen["paper"]["status"] == "in_batch" and seen["paper"]["batchId"] == batch.id
    assert "paper" not in _status(town, digital["messageId"])

    # A second run prints nothing again.
    out = io.StringIO()
    call_command("print_batch", out=str(tmp_path), stdout=out)
    assert out.getvalue().strip() == "nothing to print" and PrintBatch.objects.count() == 1

    out = io.StringIO()
    call_command("print_ack", batch.id, stdout=out)
    assert "printed=1" in out.getvalue()
    seen = _status(town, paper["messageId"])
    assert seen["paper"]["status"] == "printed" and seen["paper"]["printedAt"]
    assert MessageEvent.objects.filter(message_id=paper["messageId"], kind="printed").count() == 1
    call_command("print_ack", batch.id, stdout=io.StringIO())  # again: nothing more
    assert MessageEvent.objects.filter(kind="printed").count() == 1


def test_publish_message_with_a_paper_address_is_queued_and_an_ack_file_marks_it_printed(town, pdf_bytes, tmp_path):
    answer = _publish(town, message_json(UNKNOWN, paperAddress={**ADDRESS, "extra": "Bus 3"}), pdf_bytes)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["code"] == "paper" and body["paper"] == {"status": "queued"}
    sealing.seal_messages([body["messageId"]])
    batch = batches.print_batch(tmp_path)
    cover = PdfReader(tmp_path / batch.id / f"{body['messageId']}.pdf").pages[0].extract_text()
    assert "Bus 3" in cover
    (tmp_path / f"{batch.id}.ack").write_text("printed\n")  # what the provider drops back
    assert batches.collect_acknowledgements(tmp_path) == [batch.id]
    assert (tmp_path / f"{batch.id}.ack.done").exists() and not (tmp_path / f"{batch.id}.ack").exists()
    assert _status(town, body["messageId"])["paper"]["status"] == "printed"
    assert batches.collect_acknowledgements(tmp_path) == []


@pytest.mark.parametrize(
    ("address", "refs"),
    [
        ("Grote Markt 1, Leuven", ["paperAddress"]),
        (
            {"name": "", "street": 5, "postcode": "30", "city": "Leuven"},
            ["paperAddress.name", "paperAddress.street", "paperAddress.postcode"],
        ),
        ({**ADDRESS, "country": "Belgium"}, ["paperAddress.country"]),
        ({**ADDRESS, "floor": "2"}, ["paperAddress"]),
        ({**ADDRESS, "name": "x" * 51}, ["paperAddress.name"]),
    ],
)
def test_a_bad_paper_address_is_a_400_status_message_and_nothing_is_stored(town, pdf_bytes, address, refs):
    answer = _publish(town, message_json(UNKNOWN, paperAddress=address), pdf_bytes)
    assert_status_message(answer, 400, *refs)
    assert Message.objects.count() == MessageContent.objects.count() == PrintItem.objects.count() == 0


def test_without_the_paper_service_or_an_address_nothing_is_queued(transactional_db, live_server, pdf_bytes):
    plain = _integrator(live_server.url, "0308357159", "plain-app")
    answer = _publish(plain, message_json(UNKNOWN, paperAddress=ADDRESS), pdf_bytes)
    assert answer.status_code == 201 and answer.json()["code"] == "paper" and "paper" not in answer.json()
    assert "send the letter on paper" in answer.json()["message"]
    serviced = _integrator(live_server.url, "0207373429", "town-app", paper_service=True)
    answer = _publish(serviced, message_json("92041512329"), pdf_bytes)  # unknown, no address: the sender prints
    assert answer.json()["code"] == "paper" and "paper" not in answer.json()
    assert PrintItem.objects.count() == 0 and not MessageEvent.objects.filter(kind="print_queued").exists()


def test_the_citizen_record_gives_the_address_and_the_transition_period_prints_too(publish, organisation, tmp_path):
    organisation.paper_service = True
    organisation.paper_transition_until = dt.date.today() + dt.timedelta(days=30)
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen", country="BE")
    anna.preferred_language = "de"
    anna.save()
    reader = CitizenFactory(activated=True, name="Jan Peeters", street="Meir 24", postcode="2000", city="Antwerpen")
    on_paper, in_transition = publish(anna.national_number), publish(reader.national_number)
    assert (on_paper.channel, in_transition.channel) == ("paper", "digital_and_paper")
    assert {i.message_id: i.reason for i in PrintItem.objects.all()} == {
        on_paper.id: "publication",
        in_transition.id: "transition",
    }
    batch = batches.print_batch(tmp_path)
    assert batch.letters == 2
    cover = PdfReader(tmp_path / batch.id / f"{on_paper.id}.pdf").pages[0].extract_text()
    assert "Anna Schmitz" in cover and "Klötzerbahn 12" in cover and "4700 Eupen" in cover


def test_a_registered_letter_unacknowledged_past_n_days_is_queued_once(publish, organisation, message_type, tmp_path):
    organisation.paper_service = True
    organisation.save()
    message_type.paper_after_days = 5
    message_type.save()
    never = MessageTypeFactory(organisation=organisation)  # paper_after_days: null
    citizen = CitizenFactory(
        activated=True, name="Marie Dubois", street="Rue de la Loi 16", postcode="1000", city="Bruxelles"
    )
    waiting = publish(citizen.national_number, registered_mail=True)
    answered = publish(citizen.national_number, registered_mail=True)
    acknowledgement.answer(answered, "acknowledged", channel="portal")
    publish(citizen.national_number, registered_mail=True, message_type=never)
    publish(citizen.national_number)  # not registered
    assert PrintItem.objects.count() == 0  # digital: nothing printed at publication

    assert queueing.queue_unacknowledged(timezone.now() + dt.timedelta(days=4)) == 0  # not yet
    assert queueing.queue_unacknowledged(timezone.now() + dt.timedelta(days=6)) == 1
    assert queueing.queue_unacknowledged(timezone.now() + dt.timedelta(days=7)) == 0  # once
    item = PrintItem.objects.get()
    assert item.message_id == waiting.id and item.reason == "unacknowledged"
    assert MessageEvent.objects.filter(message=waiting, kind="print_queued").count() == 1
    batch = batches.print_batch(tmp_path)
    assert batch.letters == 1
    batches.acknowledge(batch.id)
    # The sender sees both facts: delivered digitally, and printed.
    waiting.refresh_from_db()
    assert waiting.channel == "digital" and print_statuses([waiting.id])[waiting.id]["status"] == "printed"


def test_a_run_interrupted_before_or_after_its_commit_loses_no_letter_and_prints_none_twice(
    publish, organisation, tmp_path
):
    organisation.paper_service = True
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    first = publish(anna.national_number)
    # A worker killed while writing: its transaction never committed, a temporary folder stays.
    stale = tmp_path / ".tmp-PB-20000101-000000-dead00"
    stale.mkdir()
    (stale / "half.pdf").write_bytes(b"%PDF-1.4 half")
    os.utime(stale, (0, 0))
    batch = batches.print_batch(tmp_path)
    assert not stale.exists() and batch.letters == 1
    assert PrintItem.objects.get(message=first).batch_id == batch.id
    # A worker killed between the commit and the rename: the next run delivers the folder.
    second = publish(anna.national_number)
    batches.finish_interrupted(tmp_path)  # (nothing to do yet)
    interrupted = batches.print_batch(tmp_path)
    os.rename(tmp_path / interrupted.id, tmp_path / f".tmp-{interrupted.id}")
    PrintBatch.objects.filter(pk=interrupted.pk).update(status=PrintBatch.Status.WRITTEN)
    assert batches.print_batch(tmp_path) is None  # nothing queued: the letter is not printed again
    assert (tmp_path / interrupted.id / f"{second.id}.pdf").exists()
    assert PrintBatch.objects.get(pk=interrupted.pk).status == "delivered"


def test_an_unsealed_letter_waits_for_its_seal(publish, organisation, tmp_path):
    organisation.paper_service = True
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    message = publish(anna.national_number, seal=False)
    assert batches.print_batch(tmp_path) is None
    sealing.seal_messages([message.id])
    assert batches.print_batch(tmp_path).letters == 1


@pytest.mark.worker
def test_the_beat_task_prints_once_through_real_workers(celery_worker_factory, publish, organisation, tmp_path):
    from ebox.celery import app

    organisation.paper_service = True
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    letters = [publish(anna.national_number) for _ in range(3)]
    celery_worker_factory(concurrency=2, EBOX_PRINT_OUT_DIR=str(tmp_path))
    # Two runs at once (beat and an operator's): each letter lands in exactly one batch.
    results = [app.send_task("paper.print_batch") for _ in range(2)]
    batch_ids = [r.get(timeout=60) for r in results]
    made = [b for b in batch_ids if b]
    assert made and len(made) == PrintBatch.objects.count()
    folders = [p for p in tmp_path.iterdir()]
    assert sorted(p.name for p in folders) == sorted(made)
    printed = [f.name for p in folders for f in p.glob("*.pdf")]
    assert sorted(printed) == sorted(f"{m.id}.pdf" for m in letters)  # each once
    assert set(PrintItem.objects.values_list("status", flat=True)) == {"in_batch"}
    assert app.send_task("paper.print_batch").get(timeout=60) is None


@pytest.mark.worker
def test_letters_survive_a_worker_killed_in_the_middle_of_a_print_run(
    celery_worker_factory, publish, organisation, tmp_path
):
    import signal
    import time

    from ebox.celery import app

    organisation.paper_service = True
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    letters = {publish(anna.national_number).id for _ in range(40)}
    worker = celery_worker_factory(EBOX_PRINT_OUT_DIR=str(tmp_path))
    app.send_task("paper.print_batch")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(tmp_path.glob(".tmp-*/*.pdf")):
        time.sleep(0.005)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool child, while it writes the run
    worker.wait(10)
    assert any(tmp_path.glob(".tmp-*")) and not PrintBatch.objects.exists()  # killed while writing
    # Nothing was committed: no letter is lost, none is printed twice.
    deadline = time.monotonic() + 30
    while PrintItem.objects.filter(status="queued").exists() and time.monotonic() < deadline:
        batches.print_batch(tmp_path)  # its locks go when PostgreSQL sees the connection closed
        time.sleep(0.2)
    delivered = [p for p in tmp_path.iterdir() if not p.name.startswith(".tmp-")]
    printed = [f.name for p in delivered for f in p.glob("*.pdf")]
    assert sorted(printed) == sorted(f"{m}.pdf" for m in letters)  # every letter, each once
    assert not PrintBatch.objects.exclude(status="delivered").exists()


@pytest.mark.django_db
def test_the_demo_finance_service_prints_annas_letter_and_the_paper_only_recipient_is_unknown(tmp_path):
    from demo.loader import load_demo
    from senders.models import Organisation

    load_demo()
    finance = Organisation.objects.get(enterprise_number="0308357159")
    assert finance.paper_service and finance.return_address
    assert not Organisation.objects.exclude(pk=finance.pk).filter(paper_service=True).exists()
    assert not Message.objects.filter(recipient_id=UNKNOWN).exists()
    from citizens.models import Citizen

    assert not Citizen.objects.filter(national_number=UNKNOWN).exists()
    annas = PrintItem.objects.get(message__recipient_id="78110345605")
    assert annas.message.sender_organisation == finance and annas.address["name"] == "Anna Schmitz"
    assert not PrintItem.objects.filter(message__recipient_id="85073003328").exists()  # Marie reads eBox
    batch = batches.print_batch(tmp_path)
    cover = PdfReader(tmp_path / batch.id / f"{annas.message_id}.pdf").pages[0].extract_text()
    assert "Klötzerbahn 12" in cover and "4700 Eupen" in cover and "SPF Finances" in cover


def test_linked_recipients_on_paper_are_queued_from_their_record(town, pdf_bytes):
    CitizenFactory(national_number=DIGITAL, activated=True)
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    first = _publish(town, message_json(DIGITAL), pdf_bytes).json()
    linked = town.session.post(
        f"{town.url}/api/v2/linkEboxMessage",
        json={
            "messageId": first["messageId"],
            "recipients": [
                {"eboxType": "citizen", "eboxIdValue": anna.national_number},
                {"eboxType": "citizen", "eboxIdValue": "92041512329"},  # unknown, no address: the sender prints
            ],
        },
    )
    assert linked.status_code == 201, linked.text
    annas, unknowns = linked.json()["messageIds"]
    item = PrintItem.objects.get()
    assert str(item.message_id) == annas and item.address["city"] == "Eupen"
    assert _status(town, annas)["paper"]["status"] == "queued" and "paper" not in _status(town, unknowns)


def test_the_address_sits_in_the_envelope_window(publish, organisation, tmp_path):
    """DIN 5008 form B (bpost's DL/C5 windows): 20 mm from the left, 45 to 90 mm from the top, 85 mm wide."""
    organisation.paper_service = True
    organisation.return_address = "Commune de Test, Place communale 1, 1000 Bruxelles"
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    message = publish(anna.national_number)
    batch = batches.print_batch(tmp_path)
    page = PdfReader(tmp_path / batch.id / f"{message.id}.pdf").pages[0]
    placed = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            mm = 25.4 / 72
            placed[text.strip()] = (tm[4] * mm, (float(page.mediabox.height) - tm[5]) * mm)

    page.extract_text(visitor_text=visit)
    window = ["Commune de Test, Place communale 1, 1000 Bruxelles", "Anna Schmitz", "Klötzerbahn 12", "4700 Eupen"]
    for line in window:
        x, y = placed[line]
        assert 20 <= x <= 30 and 45 < y < 90, (line, x, y)
    assert placed["Anna Schmitz"][1] > 62.7  # below the return-address zone
    others = [pos for text, pos in placed.items() if text not in window]
    assert all(not (x < 105 and 45 < y < 90) for x, y in others)  # nothing else shows through the window


def test_operators_switch_the_service_with_commands_and_beat_runs_the_paper_tasks(db, settings):
    from ebox.celery import app
    from senders.models import Organisation

    out = io.StringIO()
    call_command(
        "create_organisation",
        "0207373429",
        "--name-fr",
        "Commune",
        "--paper-service",
        "--return-address",
        "Rue 1",
        stdout=out,
    )
    town = Organisation.objects.get(enterprise_number="0207373429")
    assert town.paper_service and town.return_address == "Rue 1"
    call_command("paper_service", "BE 0207.373.429", "--off", stdout=out)
    town.refresh_from_db()
    assert not town.paper_service and town.return_address == "Rue 1"
    call_command("paper_service", "0207373429", "--on", "--return-address", "Place 2, 1000 Bruxelles", stdout=out)
    town.refresh_from_db()
    assert town.paper_service and town.return_address == "Place 2, 1000 Bruxelles"
    with pytest.raises(CommandError):
        call_command("paper_service", "0308357159", "--on", stdout=out)  # valid number, no such organisation
    with pytest.raises(CommandError):
        call_command("print_ack", "PB-nope", stdout=out)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"paper.print_batch", "paper.collect_acks", "paper.queue_unacknowledged"} <= scheduled
    app.loader.import_default_modules()
    assert {"paper.print_batch", "paper.collect_acks", "paper.queue_unacknowledged"} <= set(app.tasks)


def test_a_body_only_letter_is_printed_as_text_pages(publish, organisation, tmp_path):
    organisation.paper_service = True
    organisation.save()
    anna = CitizenFactory(name="Anna Schmitz", street="Klötzerbahn 12", postcode="4700", city="Eupen")
    paragraphs = [
        f"Absatz {n}: " + "Ihre Müllsteuer für das Jahr 2027 wird wie folgt berechnet. " * 3 for n in range(60)
    ]
    message = publish(
        anna.national_number,
        subject={"de": "Müllsteuer 2027"},
        body={"de": "\n".join(paragraphs)},
        body_main_content=True,
        attachments=[],
    )
    batch = batches.print_batch(tmp_path)
    reader = PdfReader(tmp_path / batch.id / f"{message.id}.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages[1:])
    assert len(reader.pages) >= 4  # cover + 60 paragraphs of two lines and more over several pages
    assert "Müllsteuer 2027" in reader.pages[1].extract_text() and "Absatz 0:" in text and "Absatz 59:" in text
    row = json.loads((tmp_path / batch.id / "manifest.json").read_text())["items"][0]
    assert row["pages"] == row["sheets"] == len(reader.pages)
    assert row["envelope"] == ("DL" if len(reader.pages) <= 5 else "C5")
