"""Production: keys only from the environment (EBOX_ENV=production), and two stateless hosts on one
PostgreSQL, one Redis and one S3 server."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
import requests
from django.conf import settings
from django.test import Client

from citizens import services as citizen_services
from messages.models import Message
from senders import services as sender_services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.hosts_support import Host, production_env, provided_keys, services_env
from tests.publication_support import message_json, multipart, token_session
from tests.smtp_sink import Sink

KEY_NAMES = ["SECRET_KEY", "EBOX_CLIENT_SECRET_KEY", "EBOX_AUDIT_HMAC_KEY", "EBOX_KEK", "EBOX_SEAL_KEYS"]


def test_production_refuses_to_start_without_provided_keys_and_names_each(tmp_path, s3_server):
    bucket_env = s3_server.env("unused")
    host = Host("bare", tmp_path, production_env(tmp_path, **services_env(), **bucket_env))
    refused = host.manage("check")
    assert refused.returncode != 0
    for name in KEY_NAMES:
        assert name in refused.stderr, (name, refused.stderr[-2000:])
    assert not (tmp_path / "secrets").exists() and not (tmp_path / "keys").exists()  # nothing generated

    no_services = Host("bare", tmp_path, production_env(tmp_path, **provided_keys()))
    refused = no_services.manage("check")
    assert refused.returncode != 0
    for name in ["DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME"]:
        assert name in refused.stderr, (name, refused.stderr[-2000:])

    keys_in_files = {}
    for name, value in provided_keys().items():
        (tmp_path / name).write_text(value + "\n")
        keys_in_files[f"{name}_FILE" if name != "EBOX_KEK" else "EBOX_KEK_FILE"] = str(tmp_path / name)
    (tmp_path / "EBOX_KEK").write_text(provided_keys()["EBOX_KEK"].replace(",", "\n"))
    for keys in (provided_keys(), keys_in_files):
        host = Host("provided", tmp_path, production_env(tmp_path, **services_env(), **bucket_env, **keys))
        passed = host.manage("check")
        assert passed.returncode == 0, passed.stderr[-2000:]
    assert not (tmp_path / "secrets").exists() and not (tmp_path / "keys").exists()


@pytest.fixture
def hosts(transactional_db, tmp_path, s3_server):
    bucket = s3_server.new_bucket()
    sink = Sink().start()
    started = []

    def host(name: str) -> Host:
        data = tmp_path / name
        data.mkdir()
        port_host = Host(name, data, {})
        port_host.env = production_env(
            data,
            **services_env(),
            **s3_server.env(bucket),
            **provided_keys(),
            PUBLIC_URL=port_host.url,
            EMAIL_URL=sink.url,
        )
        started.append(port_host)
        return port_host

    yield host, bucket, sink
    for h in started:
        h.stop_all()
    sink.stop()


def test_two_hosts_share_nothing_but_the_services(hosts, s3_server, pdf_bytes):
    make_host, bucket, sink = hosts
    organisation = sender_services.create_organisation("0308357159", {"fr": "SPF Finances"})
    message_type = MessageTypeFactory(organisation=organisation, message_type_id="tax")
    issued = sender_services.create_sender_application(organisation, "myminfin")
    citizen = CitizenFactory(activated=True)
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Test", family_name="Citizen")
    citizen.refresh_from_db()

    a, b = make_host("host-a"), make_host("host-b")
    a.start_web()
    a.start_worker()
    b.start_web()
    b.start_worker()
    a.stop("worker")  # only host B's worker is left to seal and send

    session = token_session(a.url, issued.client_id, issued.client_secret)
    data = message_json(citizen.national_number, message_type.message_type_id)
    response = session.post(
        f"{a.url}/api/v2/publishMessage",
        files=multipart(data, {"upfile1": ("letter.pdf", io.BytesIO(pdf_bytes), "application/pdf")}),
    )
    assert response.status_code == 201, response.text
    message_id = response.json()["messageId"]

    deadline = time.monotonic() + 30
    message = Message.objects.get(pk=message_id)
    while message.sealed_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
        message.refresh_from_db()
    assert message.sealed_at is not None, b.log("worker")
    assert "seal_messages" in b.log("worker") and "succeeded" in b.log("worker")

    # The citizen reads it through host B's portal (a session both hosts accept: same SECRET_KEY).
    client = Client()
    client.force_login(citizen.user)
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    attachment = message.content.attachments.get()
    page = requests.get(f"{b.url}/inbox/{message_id}/", cookies=cookies, timeout=10)
    assert page.status_code == 200 and "Votre courrier" in page.text
    download = requests.get(f"{b.url}/inbox/{message_id}/attachments/{attachment.pk}/", cookies=cookies, timeout=10)
    assert download.status_code == 200, download.text[:300]
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(pdf_bytes).digest()

    verified = b.manage("verify_integrity", "--restart")
    assert verified.returncode == 0 and "1 checked, 0 failed" in verified.stdout, verified.stdout + verified.stderr

    stored = s3_server.objects(bucket)
    assert list(stored) == [attachment.blob]
    assert b"Test letter" not in stored[attachment.blob] and pdf_bytes[:100] not in stored[attachment.blob]
    for host in (a, b):  # no blob, key or secret on either host's disk
        assert not (host.data_dir / "blobs").exists()
        assert not (host.data_dir / "keys").exists() and not (host.data_dir / "secrets").exists()

    mails = sink.wait_for(1)
    assert [m.rcpt for m in mails] == [[citizen.email]]
    time.sleep(3)
    assert len(sink.to(citizen.email)) == 1
