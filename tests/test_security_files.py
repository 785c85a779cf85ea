"""Issue 15, items 5 and 10: script-bearing files are refused, file names are cleaned, documents
are served as attachments (only a PDF may be shown inline, in the portal's own page)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ebox.file_safety import clean_file_name
from ebox.pdf import simple_pdf
from messages.models import Message
from messages.services import reading
from tests.publication_support import message_json
from tests.test_security import new_client, sender, token_request  # noqa: F401

PDF = simple_pdf("Letter", ["text"])


def _pdf_with(extra: bytes) -> bytes:
    return PDF.replace(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Catalog /Pages 2 0 R " + extra + b" >>")


SCRIPTED = {
    "html": (b"<html><body><script>alert(1)</script></body></html>", "a.xml"),
    "html without a script": (b"<html><body>hello</body></html>", "a.xml"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.xml"),
    "xhtml namespace": (b'<root><p xmlns="http://www.w3.org/1999/xhtml">x</p></root>', "a.xml"),
    "script anywhere": (b"<?xml version='1.0'?><letter><script>alert(1)</script></letter>", "a.xml"),
    "xml entity": (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "a.xml"),
    "xml external entity": (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        "a.xml",
    ),
    "xml stylesheet": (b'<?xml version="1.0"?><?xml-stylesheet href="x.xsl"?><a/>', "a.xml"),
    "pdf openaction javascript": (_pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "a.pdf"),
    "pdf hex-escaped name": (_pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"), "a.pdf"),
    "pdf launch": (_pdf_with(b"/OpenAction << /S /Launch /F (calc.exe) >>"), "a.pdf"),
    "pdf additional actions": (_pdf_with(b"/AA << /WC 7 0 R >>"), "a.pdf"),
    "pdf embedded file": (_pdf_with(b"/Names << /EmbeddedFiles 7 0 R >>"), "a.pdf"),
    "pdf html polyglot": (b"%PDF-1.4\n<html><script>alert(1)</script></html>", "a.pdf"),
}


@pytest.fixture
def publish_file(request, message_type, citizen, settings):
    settings.EBOX_RATE_LIMITS = {k: "100000/60" for k in settings.EBOX_RATE_LIMITS}
    app = request.getfixturevalue("sender")
    token = token_request(new_client(), app.client_id, app.client_secret).json()["access_token"]
    client = new_client()

    def _publish(content: bytes, name: str, media_type: str = "application/octet-stream"):
        data = message_json(citizen.national_number, message_type.message_type_id)
        return client.post(
            "/api/v2/publishMessage",
            {"messageToPublish": json.dumps(data), "upfile1": SimpleUploadedFile(name, content, media_type)},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return _publish


@pytest.mark.parametrize("case", sorted(SCRIPTED))
def test_script_bearing_files_are_refused(publish_file, case):
    content, name = SCRIPTED[case]
    answer = publish_file(content, name)
    assert answer.status_code == 400, answer.content
    assert any(d["ref"] == "upfile1" for d in answer.json()["details"]), answer.json()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "content, name, media_type",
    [
        (PDF, "letter.pdf", "application/pdf"),
        (_pdf_with(b"/OpenAction [3 0 R /Fit]"), "letter.pdf", "application/pdf"),  # a zoom, not a script
        (b'<?xml version="1.0" encoding="UTF-8"?><invoice xmlns="urn:x"><total>12</total></invoice>', "i.xml", ""),
    ],
)
def test_plain_documents_are_still_accepted(publish_file, content, name, media_type):
    answer = publish_file(content, name, media_type)
    assert answer.status_code == 201, answer.content


def test_file_names_lose_nul_control_and_bidi_characters(publish_file):
    answer = publish_file(PDF, "invoice\u202etxt.exe\x07.pdf", "application/pdf")
    assert answer.status_code == 201, answer.content
    message = Message.objects.get(pk=answer.json()["messageId"])
    attachment = message.content.attachments.get()
    assert reading.attachment_meta(message, attachment)["fileName"] == "invoicetxt.exe.pdf"


@pytest.mark.parametrize(
    "name, cleaned",
    [
        ("a\x00b.pdf", "ab.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\letter.pdf", "letter.pdf"),
        ("\u200bzero\u2066width\u2069.pdf", "zerowidth.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_clean_file_name(name, cleaned):
    assert clean_file_name(name) == cleaned
