"""What a stored document may contain, and what its file name may contain.

`refusal(file, media_type)` says why a file that looks like an accepted type must still be
refused (None when it is fine):

- XML (parsed with defusedxml): no DOCTYPE, entity or external reference; no element in the
  XHTML, SVG or MathML namespaces, no `html` or `svg` root, no `script` element anywhere, no
  `xml-stylesheet` processing instruction. A browser could run any of these.
- PDF: no active content. The raw bytes, and the decompressed object streams (pypdf), must not
  name `/JavaScript`, `/JS`, `/Launch`, `/AA` (additional actions), `/EmbeddedFile(s)`,
  `/RichMedia` or `/XFA` (names are compared after `#xx` escapes are decoded), and must not
  carry `<script` or `<html` (a PDF/HTML polyglot). `/OpenAction` itself is allowed (it often
  sets the zoom); an OpenAction that runs JavaScript or launches a program names one of the above.
- PNG and JPEG: nothing more is checked (browsers run no script in them).

`clean_file_name(name)` drops NUL, control characters and Unicode format characters (the
bidi overrides such as U+202E that make `evil‮fdp.exe` look like `evilexe.pdf`), path parts,
and keeps at most 200 characters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import BinaryIO

CHUNK = 1 << 20
OVERLAP = 64  # longer than any name we look for, so none is split between two chunks

_ACTIVE_NAMES = re.compile(
    rb"/(JavaScript|JS|Launch|AA|EmbeddedFiles?|RichMedia|XFA)(?=[\s()<>\[\]{}/%]|$)",
)
_HTML = re.compile(rb"<(script|html)[\s>/]", re.IGNORECASE)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_UNSAFE_NAMESPACES = {
    "http://www.w3.org/1999/xhtml": "XHTML",
    "http://www.w3.org/2000/svg": "SVG",
    "http://www.w3.org/1998/Math/MathML": "MathML",
}
MAX_FILE_NAME = 200


def refusal(file: BinaryIO, media_type: str) -> str | None:
    """Why this file must not be stored, or None. The file is read from its start and rewound."""
    file.seek(0)
    try:
        if media_type == "application/pdf":
            return _pdf_refusal(file)
        if media_type == "text/xml":
            return _xml_refusal(file)
        return None
    finally:
        file.seek(0)


def _active(chunk: bytes) -> str | None:
    if b"#" in chunk:
        chunk = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), chunk)
    found = _ACTIVE_NAMES.search(chunk)
    if found:
        return f"the PDF has active content (/{found.group(1).decode()})"
    found = _HTML.search(chunk)
    if found:
        return f"the PDF carries HTML (<{found.group(1).decode().lower()}>)"
    return None


def _pdf_refusal(file: BinaryIO) -> str | None:
    tail = b""
    object_streams = False
    while True:
        chunk = file.read(CHUNK)
        if not chunk:
            break
        window = tail + chunk
        reason = _active(window)
        if reason:
            return reason
        object_streams = object_streams or b"/ObjStm" in window
        tail = window[-OVERLAP:]
    if object_streams:
        return _object_streams_refusal(file)
    return None


def _object_streams_refusal(file: BinaryIO) -> str | None:
    """Dictionaries compressed in object streams are invisible to the byte scan: decompress them."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from pypdf.generic import StreamObject

    file.seek(0)
    try:
        reader = PdfReader(file, strict=False)
        seen = set()
        for stream_number, _ in reader.xref_objStm.values():
            if stream_number in seen:
                continue
            seen.add(stream_number)
            stream = reader.get_object(stream_number)
            if isinstance(stream, StreamObject):
                reason = _active(stream.get_data())
                if reason:
                    return reason.replace("the PDF", "the PDF's object stream")
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"the PDF's object streams cannot be read: {exc}"
    return None


def _xml_refusal(file: BinaryIO) -> str | None:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    head = file.read(4096)
    file.seek(0)
    if b"<?xml-stylesheet" in head:
        return "the XML names a stylesheet (<?xml-stylesheet?>)"
    try:
        root_seen = False
        for _, element in iterparse(file, events=("start",), forbid_dtd=True):
            namespace, _, local = element.tag.rpartition("}")
            namespace = namespace.lstrip("{")
            if namespace in _UNSAFE_NAMESPACES:
                return f"the XML has {_UNSAFE_NAMESPACES[namespace]} content"
            if local.lower() == "script":
                return "the XML has a <script> element"
            if not root_seen and local.lower() in ("html", "svg"):
                return f"the XML is {local.upper()}"
            root_seen = True
    except DefusedXmlException as exc:
        return f"the XML has a DOCTYPE, entity or external reference ({type(exc).__name__})"
    except ParseError as exc:
        return f"not well-formed XML: {exc}"
    return None


def clean_file_name(name: str) -> str:
    """`name` without path, NUL, control or format (bidi) characters, at most MAX_FILE_NAME characters."""
    name = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    kept = kept.strip().lstrip(".")
    if len(kept) > MAX_FILE_NAME:
        stem, dot, extension = kept.rpartition(".")
        if dot and len(extension) < 10:
            kept = stem[: MAX_FILE_NAME - len(extension) - 1] + dot + extension
        else:
            kept = kept[:MAX_FILE_NAME]
    return kept
