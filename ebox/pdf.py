"""A minimal PDF writer for demo letters, tests and the paper service's pages (valid PDF 1.4, Helvetica, no dependency)."""

from __future__ import annotations


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def simple_pdf(title: str, lines: list[str], padding_bytes: int = 0) -> bytes:
    """A one-page A4 PDF with a title and lines of text (Latin-1). `padding_bytes` grows the file."""
    text_ops = ["BT", "/F1 18 Tf", "72 770 Td", f"({_escape(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
    for line in lines:
        text_ops += [f"({_escape(line)}) Tj", "0 -16 Td"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1", "replace")
    if padding_bytes:
        stream += b"\n% " + b"0" * padding_bytes + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    return _serialise(objects)


# --- Positioned text (the paper service's cover pages and body pages) -----------------

MM = 72 / 25.4  # PDF points per millimetre
A4_HEIGHT_MM = 297


def _winansi(text: str) -> bytes:
    """Text for a Type 1 font's WinAnsiEncoding: cp1252, characters outside it without accents or as '?'."""
    import unicodedata

    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
            out += base or b"?"
    return bytes(out).replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def placed_text_pdf(pages: list[list[tuple[float, float, float, str, bool]]]) -> bytes:
    """An A4 PDF, one page per list of (x mm from the left, y mm from the top, size pt, text, bold).

    Positions are measured like a letter's layout (DIN 5008: from the sheet's top-left corner) and
    y is the text's baseline."""
    fonts = b"<< /F1 3 0 R /F2 4 0 R >>"
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for items in pages:
        ops = [b"BT"]
        for x, y, size, text, bold in items:
            ops.append(
                b"/F%d %.1f Tf 1 0 0 1 %.2f %.2f Tm (" % (2 if bold else 1, size, x * MM, (A4_HEIGHT_MM - y) * MM)
            )
            ops[-1] += _winansi(text) + b") Tj"
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /Font %s >> /Contents %d 0 R >>"
            % (fonts, content_number)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return _serialise(objects)


def _serialise(objects: list[bytes]) -> bytes:
    """A PDF file of these numbered objects (1 is the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
