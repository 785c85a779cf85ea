"""A real S3-speaking HTTP server for tests (moto's standalone server), and the settings that point at it."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from tests.smtp_sink import free_port

REGION = "eu-west-1"
ACCESS_KEY = "ebox-test"
SECRET_KEY = "ebox-test-secret"  # noqa: S105 - moto accepts any credentials


@dataclass
class S3Server:
    endpoint: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"ebox-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """The environment a host uses for this bucket (docs/operators.md, "Configuration")."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def storages(self, bucket: str) -> dict:
        """STORAGES as ebox.settings builds it from that environment."""
        from django.conf import settings

        return {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "endpoint_url": self.endpoint,
                    "region_name": REGION,
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                    "default_acl": None,
                    "querystring_auth": False,
                    "file_overwrite": True,
                    "max_memory_size": settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                    "transfer_config": TransferConfig(
                        multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=2
                    ),
                },
            },
            "staticfiles": settings.STORAGES["staticfiles"],
        }

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = self.client()
        listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server (`moto_server`) in its own process on a free port, over HTTP, for the whole session.

    Its own process, so what it holds never counts in this process's memory measurements."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("s3") / "moto.log", "w+")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = S3Server(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            server.client().list_buckets()
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                pytest.fail(f"moto_server did not start: {log.read()}")
            time.sleep(0.2)
    yield server
    proc.terminate()
    proc.wait(10)
    log.close()
