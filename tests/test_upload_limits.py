"""Form uploads are refused while they stream in, not after they were spooled to disk (ebox.uploads)."""

from __future__ import annotations

import io
import socket
import time

from django.urls import reverse

from citizens import services as citizen_services
from messages.models import Reply


def test_a_reply_with_a_file_over_the_limit_is_refused_before_it_is_read(client, citizen, publish, settings):
    settings.EBOX_MAX_FORM_UPLOAD_BYTES = 64 * 1024
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Test", family_name="Citizen")
    citizen.refresh_from_db()
    client.force_login(citizen.user)
    message = publish(citizen.national_number, reply_authorized=True)
    upload = io.BytesIO(b"%PDF-1.4\n%" + b"0" * (128 * 1024) + b"\n%%EOF\n")
    upload.name = "big.pdf"

    response = client.post(reverse("citizens:reply", args=[message.pk]), {"text": "Bien reçu.", "attachment": upload})

    assert response.status_code == 400
    assert not Reply.objects.exists()
    # Under the limit, the same reply goes through.
    upload = io.BytesIO(b"%PDF-1.4\n%" + b"0" * 1024 + b"\n%%EOF\n")
    upload.name = "small.pdf"
    response = client.post(reverse("citizens:reply", args=[message.pk]), {"text": "Bien reçu.", "attachment": upload})
    assert response.status_code == 302
    assert Reply.objects.count() == 1


def test_an_announced_oversized_body_is_refused_without_reading_it(live_server, citizen, publish, settings):
    """A client announcing 5 GB gets its answer after sending only the headers."""
    message = publish(citizen.national_number, reply_authorized=True)
    host, port = live_server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {reverse('citizens:reply', args=[message.pk])} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                # A CSRF cookie, so that the CSRF check reads the form (and meets the limit) first.
                f"Cookie: {settings.CSRF_COOKIE_NAME}={'a' * 32}\r\n"
                f"Content-Length: {5 * 1024**3}\r\nConnection: close\r\n\r\n--x\r\n"
            ).encode()
        )
        answer = sock.recv(200).decode(errors="replace")
    assert time.monotonic() - started < 5
    # Refused before any view ran (the CSRF check reads the form first, and the handler stops it there).
    assert answer.startswith("HTTP/1.1 400"), answer
    assert settings.EBOX_MAX_FORM_UPLOAD_BYTES < 5 * 1024**3
