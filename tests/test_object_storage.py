"""Attachment blobs on S3-compatible storage (django-storages over HTTP to moto's S3 server)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from citizens import services as citizen_services
from messages import blobs
from messages.services import publishing, reading
from tests.factories import CitizenFactory


@pytest.fixture
def bucket(s3_server):
    name = s3_server.new_bucket()
    with override_settings(STORAGES=s3_server.storages(name)):
        yield name


def test_a_message_with_attachments_goes_to_the_bucket_encrypted_and_reads_back(
    client,
    s3_server,
    bucket,
    publish,
    pdf_bytes,
):
    citizen = CitizenFactory(activated=True)
    citizen_services.citizen_logged_in(citizen.national_number, given_name="Test", family_name="Citizen")
    citizen.refresh_from_db()
    message = publish(citizen.national_number)  # publishes (blob to the bucket), then seals
    attachment = message.content.attachments.get()

    stored = s3_server.objects(bucket)
    assert list(stored) == [attachment.blob]
    assert pdf_bytes[:200] not in stored[attachment.blob] and b"Test letter" not in stored[attachment.blob]
    assert stored[attachment.blob].startswith(b"EBX1")

    client.force_login(citizen.user)
    response = client.get(reverse("citizens:attachment", args=[message.pk, attachment.pk]))
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).digest() == hashlib.sha256(pdf_bytes).digest()
    assert b"".join(reading.open_attachment(message, attachment)) == pdf_bytes
    call_command("verify_integrity", "--restart")  # exit 1 (SystemExit) on any failure


def test_a_large_attachment_streams_in_chunks(s3_server, bucket, publish):
    citizen = CitizenFactory(activated=True)
    big = bytes(range(256)) * (5 * 1024 * 16 + 7)  # ~20 MiB: boto3 uploads it in parts
    default_storage.bucket.meta.client  # noqa: B018 - botocore loads its S3 model (~12 MiB) once per process
    tracemalloc.start()
    message = publish(
        citizen.national_number,
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(big), file_name="big.bin", media_type="application/octet-stream", main_content=True
            )
        ],
    )
    _, write_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    attachment = message.content.attachments.get()
    digest, count = hashlib.sha256(), 0
    for chunk in reading.open_attachment(message, attachment):
        assert len(chunk) <= 64 * 1024
        digest.update(chunk)
        count += 1
    _, read_peak = tracemalloc.get_traced_memory()
    read_peak -= before
    tracemalloc.stop()
    print(
        f"peak Python memory: publish {write_peak / 2**20:.1f} MiB (the source is {len(big) / 2**20:.0f} MiB), read {read_peak / 2**20:.1f} MiB"
    )
    assert count > 300 and digest.hexdigest() == hashlib.sha256(big).hexdigest()
    # Reading holds a 64 KiB chunk or two, never the object. Writing: boto3 holds up to two 8 MiB
    # parts (and its copies of them for checksums) while uploading: measured ~28 MiB here.
    assert read_peak < 2 * 2**20 and write_peak < 32 * 2**20


def test_a_damaged_object_is_an_integrity_failure(s3_server, bucket, publish):
    citizen = CitizenFactory(activated=True)
    message = publish(citizen.national_number)
    attachment = message.content.attachments.get()
    s3 = s3_server.client()
    data = bytearray(s3.get_object(Bucket=bucket, Key=attachment.blob)["Body"].read())
    data[40] ^= 1
    s3.put_object(Bucket=bucket, Key=attachment.blob, Body=bytes(data))
    with pytest.raises(reading.IntegrityFailure):
        b"".join(reading.open_attachment(message, attachment))


def test_a_missing_object_is_an_integrity_failure_not_a_crash(s3_server, bucket, publish):
    citizen = CitizenFactory(activated=True)
    message = publish(citizen.national_number)
    attachment = message.content.attachments.get()
    blobs.delete(attachment.blob)
    assert s3_server.objects(bucket) == {}
    with pytest.raises(reading.IntegrityFailure):
        b"".join(reading.open_attachment(message, attachment))
