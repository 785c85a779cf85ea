"""Where settings take keys and the blob storage from: provided values (a variable or its `*_FILE`),
development secrets generated into the data folder, and production's refusal to generate any.

`ebox.settings` builds one `Requirements` and calls `check()` last, so a production start without
its keys fails once, naming every one missing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import environ


@dataclass
class Requirements:
    env: environ.Env
    data_dir: Path
    production: bool
    missing: list[str] = field(default_factory=list)

    def provided(self, name: str) -> str:
        """The value of variable `name`, or the content of the file `<name>_FILE` names; empty if neither."""
        value = self.env.str(name, default="")
        path = self.env.str(f"{name}_FILE", default="")
        if not value and path:
            value = Path(path).read_text().strip()
        return value

    def require(self, what: str) -> None:
        """Production needs `what` (a variable and how else it can be given); development does not."""
        if self.production:
            self.missing.append(what)

    def secret(self, name: str, development_name: str) -> str:
        """A provided secret; in development, generated once into the git-ignored data folder."""
        value = self.provided(name)
        if value or self.production:
            if not value:
                self.require(f"{name} (or {name}_FILE)")
            return value
        from ebox.devkeys import ensure_created, write_private

        path = self.data_dir / "secrets" / development_name
        ensure_created(path, lambda: write_private(path, secrets.token_urlsafe(50).encode()))
        return path.read_text().strip()

    def blob_storage(self, max_memory_size: int) -> dict:
        """STORAGES["default"]: an S3-compatible bucket (django-storages) when AWS_STORAGE_BUCKET_NAME is
        set, with its usual AWS_* variables; else the filesystem under the data folder (development)."""
        bucket = self.env.str("AWS_STORAGE_BUCKET_NAME", default="")
        if not bucket:
            self.require("AWS_STORAGE_BUCKET_NAME (attachment blobs may not live on one host's disk)")
            return {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(self.data_dir / "blobs")},
            }
        from boto3.s3.transfer import TransferConfig

        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.env.str("AWS_S3_ENDPOINT_URL", default="") or None,
                "region_name": self.env.str("AWS_S3_REGION_NAME", default="") or None,
                "access_key": self.env.str("AWS_ACCESS_KEY_ID", default="") or None,
                "secret_key": self.provided("AWS_SECRET_ACCESS_KEY") or None,
                "location": self.env.str("AWS_LOCATION", default=""),
                "default_acl": None,
                "querystring_auth": False,
                # Blob names are unique (the owner's UUID): no existence check before each write.
                "file_overwrite": True,
                # Bounded memory if django-storages' file object is ever used (messages.blobs streams instead).
                "max_memory_size": max_memory_size,
                # boto3 reads each part of a multipart upload into memory: 8 MiB parts, two at a time.
                "transfer_config": TransferConfig(
                    multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=2
                ),
            },
        }

    def key_folders(self, kek: str, seal_keys: str, seal_dir: Path) -> None:
        """Production: KEKs provided, and seal keys provided or in a mounted folder named explicitly that holds keys."""
        if not kek:
            self.require("EBOX_KEK (or EBOX_KEK_FILE)")
        if not seal_keys and not (self.env.str("EBOX_SEAL_KEYS_DIR", default="") and (seal_dir / "current").is_file()):
            self.require("EBOX_SEAL_KEYS (or EBOX_SEAL_KEYS_FILE, or a mounted EBOX_SEAL_KEYS_DIR holding `current`)")

    def check(self) -> None:
        if self.missing:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "EBOX_ENV=production needs these provided (nothing is generated in production): "
                + "; ".join(self.missing)
            )
