"""A full disk (a real 1 MiB tmpfs) or a failing storage backend while attachment blobs are written.

The API answers 503 with Retry-After and a StatusMessage, for one publication and for a whole
batch (publishMessages stores a batch in one transaction: a storage failure refuses the whole
batch); the citizen's reply page shows an error (503), not a 500. In every case no blob file is
left behind (neither the partly written one nor those written before it) and no row is stored.
"""

from __future__ import annotations

import base64
import html
import io
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.urls import reverse

from citizens import services as citizen_services
from messages.models import Attachment, Message, Reply
from senders import services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import assert_status_message, message_json, multipart, token_session

CITIZEN = "85073003328"


def big_pdf(pdf: bytes, size: int = 1_500_000) -> bytes:
    """A valid PDF larger than the disk: random hex digits in a comment before the end marker
    (hex, not base64: a base64 '/' followed by letters can spell a PDF name such as /AA or /JS,
    which the file check rightly refuses)."""
    return pdf + b"%" + os.urandom(size // 2 + 1).hex().encode()[:size] + b"\n%%EOF\n"


def files_under(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def full_disk(settings, tmp_path):
    """The attachment storage on a 1 MiB tmpfs (we run as root, so mounting works)."""
    root = tmp_path / "blobs"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)], check=True)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    yield root
    subprocess.run(["umount", str(root)], check=True)


class BrokenBackend(FileSystemStorage):
    """A storage backend that fails half-way through a blob with an error of its own (not an OSError)."""

    def _save(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read(1000))
        raise RuntimeError("storage backend: connection reset")


@pytest.fixture
def broken_backend(settings, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.BrokenBackend", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def integrator(transactional_db, live_server):
    organisation = services.create_organisation("0308357159", {"fr": "SPF Finances"})
    MessageTypeFactory(organisation=organisation, message_type_id="tax")
    issued = services.create_sender_application(organisation, "myminfin")
    CitizenFactory(national_number=CITIZEN, activated=True)
    session = token_session(live_server.url, issued.client_id, issued.client_secret)
    session.base = live_server.url
    return session


def publish(session, pdf: bytes):
    files = {
        "upfile1": ("letter.pdf", io.BytesIO(pdf), "application/pdf"),
    }
    data = message_json(CITIZEN, "tax")
    return session.post(f"{session.base}/api/v2/publishMessage", files=multipart(data, files))


def assert_unavailable(response) -> None:
    body = assert_status_message(response, 503)
    assert body["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["Retry-After"] == "60"


def test_a_full_disk_answers_503_and_leaves_no_blob_nor_row(integrator, full_disk, pdf_bytes):
    response = publish(integrator, big_pdf(pdf_bytes))
    assert_unavailable(response)
    assert files_under(full_disk) == []
    assert not Message.objects.exists() and not Attachment.objects.exists()
    # The disk has room for a normal letter: the next one is published.
    assert publish(integrator, pdf_bytes).status_code == 201


def test_a_failing_storage_backend_answers_503_and_leaves_no_partial_blob(integrator, broken_backend, pdf_bytes):
    assert_unavailable(publish(integrator, pdf_bytes))
    assert files_under(broken_backend) == []
    assert not Message.objects.exists()


def test_a_batch_is_refused_whole_and_its_earlier_blobs_are_removed(integrator, full_disk, pdf_bytes):
    def item(pdf: bytes) -> dict:
        doc = {"fileName": "letter.pdf", "mediaType": "application/pdf", "content": base64.b64encode(pdf).decode()}
        return {"messageToPublish": message_json(CITIZEN, "tax"), "documents": {"upfile1": doc}}

    batch = {"messages": [item(pdf_bytes), item(pdf_bytes), item(big_pdf(pdf_bytes))]}
    response = integrator.post(f"{integrator.base}/api/v2/extensions/publishMessages", json=batch)
    assert_unavailable(response)
    assert files_under(full_disk) == []  # the two small blobs written first are gone too
    assert not Message.objects.exists()


def test_a_reply_on_a_full_disk_shows_an_error_page_not_a_500(client, citizen, publish, full_disk, pdf_bytes):
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Test", family_name="Citizen")
    citizen.refresh_from_db()
    client.force_login(citizen.user)
    message = publish(citizen.national_number, reply_authorized=True)
    leftover = files_under(full_disk)  # the published letter's own blob
    upload = io.BytesIO(big_pdf(pdf_bytes))
    upload.name = f"{uuid.uuid4()}.pdf"

    response = client.post(reverse("citizens:reply", args=[message.pk]), {"text": "Bien reçu.", "attachment": upload})

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = html.unescape(response.content.decode())
    assert "Votre réponse n'a pas pu être enregistrée" in page
    assert "Bien reçu." in page  # what the citizen typed is kept
    assert files_under(full_disk) == leftover
    assert not Reply.objects.exists()
