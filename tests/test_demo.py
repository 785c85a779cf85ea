"""The demo data (demo/) is sound: its account numbers pass their check digits."""

from __future__ import annotations

import re
from pathlib import Path

from stdnum import iban

DEMO = Path(__file__).resolve().parent.parent / "demo"
# A Belgian IBAN as stored (BE22679200300047) or as printed on a letter (BE22 6792 0030 0047).
BELGIAN_IBAN = re.compile(r"\bBE\d{2}(?: ?\d{4}){3}\b")


def test_every_demo_iban_passes_its_check():
    found = {match for path in DEMO.rglob("*.py") for match in BELGIAN_IBAN.findall(path.read_text())}
    assert found, "no IBAN found in demo/"
    for number in sorted(found):
        iban.validate(number)  # raises on a wrong check digit


def test_the_demo_data_owes_no_email(db):
    """`make run` sends no e-mail for the demo letters: sealing them owes none."""
    from demo.loader import load_demo, load_demo_history
    from messages.models import EmailNotification, Message

    load_demo()
    load_demo_history()
    assert Message.objects.filter(status="sealed").exists()
    assert not EmailNotification.objects.exists()


def test_the_cpas_clerk_has_a_reply_to_read(db):
    """Julie (the CPAS of Liège's clerk) sends and reads replies; Marie's reply to its decision awaits her."""
    from demo.loader import load_demo
    from messages.models import Reply
    from sender_portal.models import SenderRole

    load_demo()
    roles = SenderRole.objects.filter(person__national_number="88061412485", revoked_at__isnull=True)
    assert set(roles.values_list("organisation__enterprise_number", "role")) == {
        ("0212001913", "sender"),
        ("0212001913", "replies"),
    }
    reply = Reply.objects.get()
    assert reply.sender_organisation.enterprise_number == "0212001913"
    assert reply.citizen.national_number == "85073003328" and reply.message.reply_authorized
    load_demo()  # loading again adds nothing
    assert Reply.objects.count() == 1
