"""A campaign's ZIP of PDFs, checked whole before anything is kept, then read file by file.

Refused (ZipRefused, a message for the person who uploaded it): not a ZIP; more than
EBOX_CAMPAIGN_MAX_FILES files; more than EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES once
uncompressed (a zip bomb: the sizes are checked from the directory first, and zipfile stops
reading a file at its declared size and checks its CRC); a file over EBOX_MAX_ATTACHMENT_BYTES;
a name with a path that climbs out ("..", absolute, a drive) or two files with one name; a file
that does not start as a PDF. A PDF's content (ebox.file_safety: active content…) is checked
by the API's validator for each row that uses it, which names the row and cell. Files are
found by their name without folders (the spreadsheet's `pdf` column).
"""

from __future__ import annotations

import posixpath
import tempfile
import zipfile
from collections import OrderedDict
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext_noop

from ebox.file_safety import clean_file_name
from ebox.i18n import Text


class ZipRefused(Exception):
    """Its message is an ebox.i18n.Text: kept on the campaign by the worker, shown in the reader's language."""


def _unsafe_path(name: str) -> bool:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in posixpath.normpath(name).split("/") or ".." in name.split("/")


def _open_zip(file: BinaryIO) -> zipfile.ZipFile:
    file.seek(0)
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ZipRefused(Text(gettext_noop("The file of PDFs is not a ZIP archive."))) from None


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The PDFs by name, after the checks that need no reading (names, count, declared sizes)."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > settings.EBOX_CAMPAIGN_MAX_FILES:
        raise ZipRefused(
            Text(gettext_noop("The ZIP has more than %(max)s files."), max=settings.EBOX_CAMPAIGN_MAX_FILES)
        )
    total = 0
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if _unsafe_path(info.filename):
            raise ZipRefused(
                Text(gettext_noop("The ZIP names a file outside its folder: %(name)s"), name=info.filename[:200])
            )
        if info.flag_bits & 0x1:
            raise ZipRefused(
                Text(gettext_noop("The ZIP is protected by a password: %(name)s"), name=info.filename[:200])
            )
        total += info.file_size
        if total > settings.EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES:
            raise ZipRefused(
                Text(
                    gettext_noop("The ZIP holds more than %(max)s bytes once uncompressed."),
                    max=settings.EBOX_CAMPAIGN_MAX_UNCOMPRESSED_BYTES,
                )
            )
        if info.file_size > settings.EBOX_MAX_ATTACHMENT_BYTES:
            raise ZipRefused(
                Text(
                    gettext_noop("%(name)s is larger than %(max)s bytes."),
                    name=info.filename[:200],
                    max=settings.EBOX_MAX_ATTACHMENT_BYTES,
                )
            )
        name = clean_file_name(posixpath.basename(info.filename))
        if name.startswith(".") or name.startswith("__macosx"):
            continue  # the resource forks and hidden files archivers add
        if name in members:
            raise ZipRefused(Text(gettext_noop("Two files in the ZIP are named %(name)s."), name=name))
        members[name] = info
    return members


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as member:
            data = member.read(settings.EBOX_MAX_ATTACHMENT_BYTES + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        raise ZipRefused(
            Text(gettext_noop("%(name)s cannot be read from the ZIP."), name=info.filename[:200])
        ) from None
    if len(data) > info.file_size or len(data) > settings.EBOX_MAX_ATTACHMENT_BYTES:
        raise ZipRefused(Text(gettext_noop("%(name)s is larger than the ZIP says."), name=info.filename[:200]))
    return data


def check_zip(file: BinaryIO) -> list[str]:
    """Check the ZIP's structure and that every file starts as a PDF; return the PDFs' names.

    Raises ZipRefused. A PDF's content (ebox.file_safety) is checked whole when a row uses it:
    by the API's validator, as it checks a publication's part (campaigns.services.uploading),
    so a refused file is named with the row and cell that use it, and each file is
    decompressed once (profiled: reading every file twice was a fifth of a campaign's check).
    """
    with _open_zip(file) as archive:
        members = _members(archive)
        for name, info in members.items():
            try:
                with archive.open(info) as member:
                    head = member.read(5)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                raise ZipRefused(Text(gettext_noop("%(name)s cannot be read from the ZIP."), name=name)) from None
            if head != b"%PDF-":
                raise ZipRefused(Text(gettext_noop("%(name)s is not a PDF."), name=name))
        return list(members)


class Documents:
    """The PDFs of a checked ZIP, read by name (the few most recent kept: rows often share a leaflet)."""

    def __init__(self, file: BinaryIO | None, keep: int = 32) -> None:
        self._archive = _open_zip(file) if file is not None else None
        self._members = _members(self._archive) if self._archive is not None else {}
        self._recent: OrderedDict[str, bytes] = OrderedDict()
        self._keep = keep

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        data = self._recent.get(name)
        if data is None:
            data = _read(self._archive, self._members[name])
            self._recent[name] = data
            if len(self._recent) > self._keep:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(name)
        return data

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


def spooled() -> tempfile.SpooledTemporaryFile:
    """A file for an upload or a decrypted copy: in memory while small, on disk beyond."""
    return tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
