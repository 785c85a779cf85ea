"""Mandates: who may grant and revoke, a minor's mandate ending at 18, the portal's mandate pages,
and `import_mandates` (all rows or none, idempotent). Real PostgreSQL, Django's test client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from citizens import services as citizen_services
from citizens.models import Citizen
from mandates import selectors, services
from mandates.models import Mandate
from tests.factories import CitizenFactory

BAKERY, MARIE, LEA, THOMAS, ANNA = "0990000806", "85073003328", "15031412316", "80051212368", "78110345605"


def logged_in(national_number: str, given: str = "Test", family: str = "Person") -> Client:
    person = citizen_services.citizen_logged_in(national_number, given_name=given, family_name=family)
    client = Client()
    client.force_login(person.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read the English text
    return client


@pytest.fixture
def bakery(db):
    """The bakery, with Marie as its director from the register."""
    services.register_mandate(
        BAKERY,
        MARIE,
        role="director",
        scope="read_and_manage",
        valid_from=dt.date(2019, 4, 1),
        valid_until=None,
        owner_name="Boulangerie Dubois SRL",
    )
    return Citizen.objects.get(national_number=BAKERY)


def person(number: str) -> Citizen:
    return citizen_services.citizen_for_number(number)


# --- Rules ---------------------------------------------------------------------------------


def test_a_parents_mandate_ends_by_itself_on_the_18th_birthday(db):
    mandate, created = services.register_mandate(
        LEA, MARIE, role="parent", scope="read_and_manage", valid_from=dt.date(2015, 3, 14), valid_until=None
    )
    assert created and mandate.valid_until == dt.date(2033, 3, 14)  # born 2015-03-14 (python-stdnum)
    assert mandate.is_active(on=dt.date(2033, 3, 13))
    assert not mandate.is_active(on=dt.date(2033, 3, 14))
    marie = person(MARIE)
    assert [a.mailbox.national_number for a in selectors.mailbox_choices(marie, on=dt.date(2033, 3, 13))] == [
        MARIE,
        LEA,
    ]
    assert [a.mailbox.national_number for a in selectors.mailbox_choices(marie, on=dt.date(2033, 3, 14))] == [MARIE]
    # A later end asked by the register is capped too; an earlier one is kept.
    capped, _ = services.register_mandate(
        LEA, MARIE, role="parent", scope="read", valid_from=dt.date(2015, 3, 14), valid_until=dt.date(2040, 1, 1)
    )
    assert (capped.pk, capped.valid_until, capped.scope) == (mandate.pk, dt.date(2033, 3, 14), "read")
    # A guardian of an adult ward has no age limit.
    ward, _ = services.register_mandate(
        ANNA, MARIE, role="guardian", scope="read", valid_from=dt.date(2024, 1, 1), valid_until=None
    )
    assert ward.valid_until is None


def test_in_the_portal_the_minor_disappears_on_the_birthday(db):
    mandate, _ = services.register_mandate(
        LEA, MARIE, role="parent", scope="read_and_manage", valid_from=dt.date(2015, 3, 14), valid_until=None
    )
    marie = logged_in(MARIE, "Marie", "Dubois")
    lea = person(LEA)
    assert marie.post("/mailbox/", {"mailbox": lea.pk}).status_code == 302
    assert "/mandates/" in marie.get("/inbox/").content.decode()
    # Time-travel: the 18th birthday is today.
    Mandate.objects.filter(pk=mandate.pk).update(valid_until=timezone.localdate())
    inbox = marie.get("/inbox/", follow=True).content.decode()
    assert "Your mandate for that eBox has ended" in inbox
    assert 'id="mailbox-select"' not in inbox  # nothing left to switch to


def test_who_may_grant_what(bakery):
    marie, anna = person(MARIE), person(ANNA)
    # The director grants a delegate (the accountant), read only, with an end date.
    end = timezone.localdate() + dt.timedelta(days=365)
    delegate = services.grant(bakery, THOMAS, role="delegate", scope="read", granted_by=marie, valid_until=end)
    assert (delegate.representative.national_number, delegate.granted_by, delegate.valid_until) == (THOMAS, marie, end)
    thomas = person(THOMAS)
    refusals = [
        (thomas, bakery, "delegate", ANNA),  # a read-only delegate grants nothing
        (anna, bakery, "delegate", ANNA),  # a stranger neither
        (marie, bakery, "director", ANNA),  # directors come from the register
        (marie, bakery, "delegate", THOMAS),  # already holds one
        (marie, bakery, "chosen_delegate", ANNA),  # not a role for an enterprise
        (marie, anna, "chosen_delegate", THOMAS),  # not Marie's eBox
        (anna, anna, "chosen_delegate", ANNA),  # not oneself
        (anna, anna, "parent", MARIE),  # parents come from the register
    ]
    for granted_by, owner, role, number in refusals:
        with pytest.raises(services.MandateRefused):
            services.grant(owner, number, role=role, scope="read", granted_by=granted_by)
    # A person grants a chosen delegate on their own eBox.
    chosen = services.grant(anna, MARIE, role="chosen_delegate", scope="read", granted_by=anna)
    assert chosen.is_active()
    # Revoking: the representative themself may; register mandates only operators (by=None).
    with pytest.raises(services.MandateRefused):
        services.revoke(Mandate.objects.get(owner=bakery, role="director"), by=marie)
    with pytest.raises(services.MandateRefused):
        services.revoke(delegate, by=anna)
    services.revoke(delegate, by=marie)
    services.revoke(chosen, by=marie)  # renouncing
    assert (
        Mandate.objects.active().filter(owner__in=[bakery, anna], role__in=["delegate", "chosen_delegate"]).count() == 0
    )
    # With manage scope, a delegate may grant delegates too.
    manager = services.grant(bakery, THOMAS, role="delegate", scope="read_and_manage", granted_by=marie)
    services.grant(bakery, ANNA, role="delegate", scope="read", granted_by=thomas)
    assert manager.manages and Mandate.objects.active().filter(owner=bakery).count() == 3


def test_the_director_grants_and_revokes_in_the_mandate_pages(bakery):
    marie = logged_in(MARIE, "Marie", "Dubois")
    marie.post("/mailbox/", {"mailbox": bakery.pk})
    page = marie.get("/mandates/").content.decode()
    assert "Marie Dubois" in page and "from the official register" in page and 'name="national_number"' in page
    bad = marie.post("/mandates/grant/", {"national_number": "80051212369", "role": "delegate", "scope": "read"})
    assert bad.status_code == 400 and "is not a valid national register number" in bad.content.decode()
    enterprise = marie.post("/mandates/grant/", {"national_number": BAKERY, "role": "delegate", "scope": "read"})
    assert enterprise.status_code == 400
    past = marie.post(
        "/mandates/grant/",
        {"national_number": THOMAS, "role": "delegate", "scope": "read", "valid_until": "2020-01-01"},
    )
    assert past.status_code == 400 and "The end date must be after today." in past.content.decode()
    assert not Mandate.objects.filter(role="delegate").exists()

    ok = marie.post(
        "/mandates/grant/", {"national_number": "80.05.12-123.68", "role": "delegate", "scope": "read"}, follow=True
    )
    assert "may now open this eBox" in ok.content.decode()
    delegate = Mandate.objects.get(role="delegate")
    assert (delegate.representative.national_number, delegate.scope, delegate.granted_by.national_number) == (
        THOMAS,
        "read",
        MARIE,
    )
    # The accountant logs in, switches, reads; cannot grant.
    thomas = logged_in(THOMAS, "Thomas", "Lambert")
    assert ">Boulangerie Dubois SRL</option>" in thomas.get("/inbox/").content.decode()
    thomas.post("/mailbox/", {"mailbox": bakery.pk})
    assert 'name="national_number"' not in thomas.get("/mandates/").content.decode()
    assert (
        thomas.post("/mandates/grant/", {"national_number": ANNA, "role": "delegate", "scope": "read"}).status_code
        == 302
    )
    assert not Mandate.objects.filter(representative__national_number=ANNA).exists()

    # The director revokes; the accountant's next request is in his own eBox.
    marie.post(f"/mandates/{delegate.pk}/revoke/")
    delegate.refresh_from_db()
    assert delegate.revoked_at is not None and delegate.revoked_by.national_number == MARIE
    assert ">Boulangerie Dubois SRL</option>" not in thomas.get("/inbox/").content.decode()
    # Nobody revokes a mandate of another eBox through the URL.
    other = services.grant(person(ANNA), MARIE, role="chosen_delegate", scope="read", granted_by=person(ANNA))
    assert thomas.post(f"/mandates/{other.pk}/revoke/").status_code == 404


# --- import_mandates -------------------------------------------------------------------------

HEADER = "owner_number,owner_name,representative_number,representative_name,role,scope,valid_from,valid_until\n"


def test_import_mandates_accepts_a_good_file_idempotently(tmp_path, db, capsys):
    good = tmp_path / "register.csv"
    good.write_text(
        HEADER
        + "BE 0990.000.806,Boulangerie Dubois SRL,85.07.30-033.28,Marie Dubois,director,read_and_manage,2019-04-01,\n"
        + "15031412316,Léa Dubois,85073003328,,parent,read_and_manage,2015-03-14,\n"
        + "0990000806,,80051212368,Thomas Lambert,delegate,read,2026-01-01,2027-01-01\n"
    )
    call_command("import_mandates", str(good))
    assert "3 mandate(s) created" in capsys.readouterr().out
    bakery = Citizen.objects.get(national_number=BAKERY)
    assert (bakery.kind, bakery.name) == ("enterprise", "Boulangerie Dubois SRL")
    assert Citizen.objects.get(national_number=LEA).name == "Léa Dubois"
    lea_mandate = Mandate.objects.get(role="parent")
    assert (lea_mandate.valid_until, lea_mandate.granted_by) == (dt.date(2033, 3, 14), None)
    call_command("import_mandates", str(good))
    assert "0 mandate(s) created, 3 already there" in capsys.readouterr().out
    assert Mandate.objects.count() == 3


def test_import_mandates_rejects_a_bad_file_atomically(tmp_path, db, capsys):
    CitizenFactory(national_number=MARIE)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "0990000806,Boulangerie Dubois SRL,85073003328,,director,read_and_manage,2019-04-01,\n"
        + "0990000807,,85073003328,,director,read,2019-04-01,\n"
        + "0990000806,,85073003328,,owner,read,2019-04-01,\n"
        + "0990000806,,85073003328,,delegate,read,2019-04-01,2018-01-01\n"
        + "0990000806,,85073003328,,delegate,everything,01/04/2019,\n"
    )
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_mandates", str(bad))
    errors = capsys.readouterr().err
    for line, words in [(3, "not a valid enterprise number"), (4, "role 'owner'"), (5, "valid_until"), (6, "scope")]:
        assert f"line {line}: " in errors and words in errors, (line, errors)
    assert "line 2:" not in errors
    assert Mandate.objects.count() == 0 and not Citizen.objects.filter(national_number=BAKERY).exists()

    # A row the rules refuse only when stored (Léa is an adult by then) rolls back the rows before it.
    late = tmp_path / "late.csv"
    late.write_text(
        HEADER
        + "0990000806,Boulangerie Dubois SRL,85073003328,,director,read_and_manage,2019-04-01,\n"
        + "15031412316,,85073003328,,parent,read,2034-01-01,\n"
    )
    with pytest.raises(CommandError):
        call_command("import_mandates", str(late))
    assert "line 3: " in capsys.readouterr().err
    assert Mandate.objects.count() == 0

    missing = tmp_path / "missing.csv"
    missing.write_text("owner,representative\n1,2\n")
    with pytest.raises(CommandError):
        call_command("import_mandates", str(missing))
    assert "line 1: the header lacks" in capsys.readouterr().err
