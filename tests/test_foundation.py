"""The foundation: identifiers, models, embedded services, demo data, the home page, a worker round trip."""

import datetime as dt

import psycopg
import pytest
from django import db as django_db
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from citizens.selectors import channel_for
from demo.data import DEMO_CITIZENS
from demo.loader import load_demo
from ebox.identifiers import normalise_enterprise_number, normalise_national_number
from messages.models import Message, MessageContent
from senders.models import MessageType, Organisation
from tests.factories import CitizenFactory, OrganisationFactory


def test_national_numbers_are_validated_by_stdnum():
    assert normalise_national_number("85.07.30-033.28") == "85073003328"
    # Born in 2000 or later: the check uses the "2" prefix.
    assert normalise_national_number("03061278952") == "03061278952"
    with pytest.raises(ValidationError):
        normalise_national_number("85073003329")
    with pytest.raises(ValidationError):
        normalise_national_number("1234")


def test_enterprise_numbers_are_validated_by_stdnum():
    assert normalise_enterprise_number("BE 0308.357.159") == "0308357159"
    with pytest.raises(ValidationError):
        normalise_enterprise_number("0308357158")


def test_the_database_is_real_postgresql(db):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 180000


@pytest.mark.django_db
def test_hot_statements_send_arrays_and_numbered_parameters_faithfully(db):
    from ebox import db as ebox_db

    tricky = ["fr", 'quote"d', "back\\slash", "comma,and space", "{braces}", "NULL", ""]
    row = ebox_db.execute_prepared(
        "SELECT %s::text[], %s::text[], %s::int + %s", [ebox_db.text_array(tricky), ebox_db.text_array([]), 40, 2]
    )
    assert row == (tricky, [], 42)
    assert ebox_db.text_array(None) is None
    assert ebox_db.execute_prepared("SELECT 1 WHERE false", []) is None
    with pytest.raises(ValueError):
        ebox_db.execute_prepared("SELECT 1 WHERE 'a' LIKE '%%'", [])
    # The one cursor survives a failed statement (a duplicate key, a bad value…), raised as
    # Django's error (so Django's connection handling sees it), caused by psycopg's.
    with pytest.raises(django_db.DataError) as raised, transaction.atomic():
        ebox_db.execute_prepared("SELECT %s::int", ["not a number"])
    assert isinstance(raised.value.__cause__, psycopg.errors.InvalidTextRepresentation)
    assert ebox_db.execute_prepared("SELECT %s::int", ["7"]) == (7,)


def test_rows_loaded_without_init_are_the_instances_from_db_makes(db):
    from django.db.models.signals import post_init

    from ebox import db as ebox_db

    organisation = OrganisationFactory()
    attnames = [f.attname for f in Organisation._meta.concrete_fields]
    values = [getattr(organisation, a) for a in attnames]
    loaded, reference = (
        ebox_db.loaded(Organisation, attnames, values),
        Organisation.from_db("default", attnames, values),
    )
    assert type(loaded) is Organisation and loaded == reference
    assert [getattr(loaded, a) for a in attnames] == values
    assert (loaded._state.adding, loaded._state.db) == (False, "default")
    loaded.short_name = {"fr": "Renommée"}
    loaded.save()  # an UPDATE of the existing row, not an INSERT
    assert Organisation.objects.get(pk=organisation.pk).short_name == {"fr": "Renommée"}

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Organisation)
    try:
        ebox_db.loaded(Organisation, attnames, values)  # a listener: through from_db, so it hears of it
    finally:
        post_init.disconnect(receiver, sender=Organisation)
    assert len(seen) == 1


def test_organisation_model_refuses_an_invalid_enterprise_number():
    organisation = Organisation(enterprise_number="0308357158", short_name={"fr": "X"})
    with pytest.raises(ValidationError):
        organisation.full_clean()


@pytest.mark.django_db
def test_channel_decision():
    organisation = OrganisationFactory()
    in_transition = OrganisationFactory(in_transition=True)
    assert channel_for(CitizenFactory(), organisation) == "paper"
    activated = CitizenFactory(activated=True)
    assert channel_for(activated, organisation) == "digital"
    assert channel_for(activated, in_transition) == "digital_and_paper"
    assert channel_for(None, organisation) == "paper"


def test_message_type_validity_sets_expiration():
    start = dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC)
    months = MessageType(validity_number=1, validity_unit="month")
    assert months.expiration_from(start) == dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    years = MessageType(validity_number=2, validity_unit="year")
    assert years.expiration_from(start).year == 2026
    days = MessageType(validity_number=10, validity_unit="day")
    assert days.expiration_from(start) == dt.datetime(2024, 2, 10, 12, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_load_demo_creates_sealed_encrypted_messages_once():
    created = load_demo()
    assert created["organisations"] == 4
    # Four letters for each grown-up demo citizen, two for the bakery and one for Léa.
    assert created["messages"] == 4 * sum(c.get("letters", True) for c in DEMO_CITIZENS) + 3
    assert Message.objects.filter(status="sealed").count() == created["messages"]
    assert load_demo() == {"organisations": 0, "citizens": 0, "messages": 0}
    # Content is ciphertext: the demo subject does not appear in the stored bytes.
    content = MessageContent.objects.first()
    assert b"Avertissement" not in bytes(content.subject_ct)
    assert b"Composition" not in bytes(content.subject_ct)


def test_home_page(client, db):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"<h1>" in response.content
    assert b'lang="en"' in response.content


def test_admin_shows_metadata_not_content(admin_client, publish, citizen):
    message = publish(citizen.national_number, subject={"fr": "SECRET-MARKER-123"}, body={"fr": "BODY-MARKER"})
    page = admin_client.get(f"/admin/mailbox/message/{message.id}/change/")
    assert page.status_code == 200
    assert b"SECRET-MARKER-123" not in page.content
    assert b"BODY-MARKER" not in page.content
    assert message.sender_organisation.enterprise_number.encode() in page.content


@pytest.mark.worker
def test_a_real_worker_round_trip_through_redis(celery_worker_process):
    from ebox.celery import ping

    assert ping.delay("hello").get(timeout=20) == "pong:hello"


@pytest.mark.worker
def test_the_worker_seals_a_published_message(celery_worker_process, publish, citizen):
    import time

    message = publish(citizen.national_number, seal=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == "sealed":
            break
        time.sleep(0.2)
    assert message.status == "sealed"
    assert message.sealed_at >= message.received_at and len(message.seal) == 64
