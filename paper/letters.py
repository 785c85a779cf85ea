"""One printable letter: an address cover page laid out for a windowed envelope, then the documents.

The cover follows DIN 5008 form B, which bpost's windowed envelopes (DL and C5) match: the
window is 20 mm from the left edge and 45 mm from the top, 85 x 45 mm; its first 17.7 mm hold the
return address line, the rest the recipient's address (at most six lines). The letter's own
documents follow: each PDF attachment as it was sealed (decrypted and checked against the seal),
and the body as text pages when the body is the main content or no document is a PDF.
Printing is single-sided: one page is one sheet.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter

from ebox.i18n import translate
from ebox.pdf import MM, placed_text_pdf
from messages.services import reading
from paper.models import PrintItem

# DIN 5008 form B, in millimetres from the sheet's top-left corner: the window spans 20 to 105 mm,
# text starts 5 mm inside it.
WINDOW_LEFT = 25
WINDOW_TEXT_WIDTH = 78
RETURN_LINE_TOP = 50  # in the window's return-address zone (45 to 62.7 mm)
ADDRESS_TOP = 66  # first baseline of the address zone (62.7 to 90 mm)
ADDRESS_LINE = 4.6
INFO_LEFT = 125  # the information block right of the window
BODY_LEFT, BODY_TOP, BODY_BOTTOM, BODY_LINE, BODY_WIDTH = 25, 30, 275, 5, 95
# A DL envelope takes a letter folded in three up to about five sheets; beyond, C5 (folded once).
DL_MAX_SHEETS = 5
DUPLEX = False


@dataclass
class PrintedLetter:
    pdf: bytes
    pages: int
    sheets: int
    envelope: str


def address_lines(address: dict) -> list[str]:
    """The recipient block, as posted: name, extra line, street, postcode and city, country if abroad."""
    lines = [address.get("name", ""), address.get("extra", ""), address["street"]]
    lines.append(f"{address['postcode']} {address['city']}".strip())
    if address.get("country", "BE") != "BE":
        lines.append(address["country"])
    return [line for line in lines if line][:6]


def letter_language(item: PrintItem, subject: dict) -> str:
    preferred = item.message.citizen.preferred_language if item.message.citizen_id else None
    if preferred and subject.get(preferred):
        return preferred
    return next((lang for lang in ("fr", "nl", "de", "en") if subject.get(lang)), "fr")


def fitted(size: float, text: str, width_mm: float) -> float:
    """The font size, at most `size`, at which `text` fits `width_mm` (Helvetica averages well under
    0.55 em per character, so this errs on the small side)."""
    return min(size, width_mm * MM / (max(len(text), 1) * 0.55))


def cover_page(item: PrintItem, batch_id: str, subject: dict, language: str) -> bytes:
    message = item.message
    organisation = message.sender_organisation
    sender = organisation.name(language)
    return_line = organisation.return_address or sender  # the return address names its organisation
    texts = [(WINDOW_LEFT, RETURN_LINE_TOP, fitted(7, return_line, WINDOW_TEXT_WIDTH), return_line[:100], False)]
    for n, line in enumerate(address_lines(item.address)):
        texts.append((WINDOW_LEFT, ADDRESS_TOP + n * ADDRESS_LINE, fitted(10, line, WINDOW_TEXT_WIDTH), line, False))
    with translation.override(language):
        info = [
            (sender, True),
            (formats.date_format(timezone.localdate(message.received_at), "SHORT_DATE_FORMAT"), False),
            (_("Reference: %(batch)s") % {"batch": batch_id}, False),
            (str(message.id), False),
        ]
        if message.registered_mail:
            info.append((_("Registered letter"), True))
        notice = _("This letter was also delivered to the recipient's eBox, the public digital mailbox.")
    for n, (line, bold) in enumerate(info):
        texts.append((INFO_LEFT, RETURN_LINE_TOP + n * 5, fitted(8, line, 70), line[:80], bold))
    title = translate(subject, language)[:150]
    texts.append((BODY_LEFT, 110, fitted(12, title, 160), title, True))
    texts.append((BODY_LEFT, 120, fitted(9, notice, 160), notice, False))
    return placed_text_pdf([texts])


def body_pages(body: str, subject: str) -> bytes:
    """The body as A4 text pages (the subject as heading), wrapped and paginated."""
    lines: list[tuple[str, bool]] = [(subject, True), ("", False)]
    for paragraph in body.splitlines() or [""]:
        wrapped = textwrap.wrap(paragraph, BODY_WIDTH) or [""]
        lines += [(line, False) for line in wrapped]
    per_page = int((BODY_BOTTOM - BODY_TOP) / BODY_LINE)
    pages = []
    for start in range(0, len(lines), per_page):
        chunk = lines[start : start + per_page]
        pages.append([(BODY_LEFT, BODY_TOP + n * BODY_LINE, 10, text, bold) for n, (text, bold) in enumerate(chunk)])
    return placed_text_pdf(pages)


def build_letter(item: PrintItem, batch_id: str) -> PrintedLetter:
    """The letter's PDF: cover, then its documents; raises IntegrityFailure when the seal does not hold."""
    message = item.message
    text = reading.verified_text(message, "print")  # the seal holds, or nothing is printed
    language = letter_language(item, text.subject)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(cover_page(item, batch_id, text.subject, language))))
    body = translate(text.body, language) if text.body else ""
    subject = translate(text.subject, language)
    body_printed = False
    if message.body_main_content and body:
        writer.append(PdfReader(io.BytesIO(body_pages(body, subject))))
        body_printed = True
    for attachment in reading.attachments_of(message):
        if attachment.media_type != "application/pdf":
            continue  # other types (XML, images…) stay digital: the cover says the letter is in eBox
        data = b"".join(reading.open_attachment(message, attachment, "print", check_seal=False))
        writer.append(PdfReader(io.BytesIO(data)))
        body_printed = True
    if not body_printed and body:
        writer.append(PdfReader(io.BytesIO(body_pages(body, subject))))
    out = io.BytesIO()
    writer.write(out)
    pages = len(writer.pages)
    sheets = pages if not DUPLEX else (pages + 1) // 2
    return PrintedLetter(out.getvalue(), pages, sheets, "DL" if sheets <= DL_MAX_SHEETS else "C5")
