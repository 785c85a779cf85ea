"""How a letter's payment data are shown to the citizen (and in the sender portal's preview, which shows
exactly what the citizen will see): the values, and an EPC069-12 (SEPA) QR code for a euro transfer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation


def due_date(value) -> dt.date | None:
    """The spec's dueDate, a date or a date-time (ISO 8601), as the date it names (shown localised)."""
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def payment(payment: dict | None, organisation_name: str) -> dict | None:
    """Payment data for display, with an EPC069-12 (SEPA) QR code when it is a euro transfer."""
    if not payment:
        return None
    import segno.helpers

    reference = payment.get("reference") or {}
    if isinstance(reference, str):
        reference = {"structured": reference}
    reference_text = reference.get("structured") or reference.get("free") or ""
    if not reference_text:  # the spec leaves the object open: show whatever text it carries
        reference_text = " ".join(str(v) for v in reference.values() if isinstance(v, str | int))
    shown = dict(payment, reference_text=reference_text, due_date=due_date(payment.get("dueDate")))
    try:
        amount = Decimal(str(payment.get("amount")))
    except (InvalidOperation, TypeError):
        return shown
    iban = str(payment.get("iban") or payment.get("ibanNumber") or "").replace(" ", "")
    if iban and amount > 0 and payment.get("currency", "EUR") == "EUR":
        structured = reference.get("structured") or ""
        # EPC's structured field is for ISO 11649 (RF…) references; Belgian banking apps read the
        # Belgian structured communication (+++…+++) from the remittance text.
        kwargs = {"reference": structured} if structured.upper().startswith("RF") else {}
        if not kwargs:
            kwargs = {"text": structured or reference.get("free") or organisation_name[:140]}
        try:
            qr = segno.helpers.make_epc_qr(
                name=organisation_name[:70], iban=iban, amount=amount, bic=payment.get("bic") or None, **kwargs
            )
            # A data URI of a standalone SVG (with its xmlns: without it the image has no size).
            shown["qr_src"] = qr.svg_data_uri(scale=4, border=4)
            shown["qr_size"] = qr.symbol_size(scale=4, border=4)[0]
        except ValueError:  # a value the EPC format refuses: the data is shown without a code
            pass
    shown["iban_display"] = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    shown["amount_value"] = amount
    return shown
