"""Public pages: the organisation directory (HTML, JSON), the statistics and their rollups, the operator view."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from citizens.models import Citizen
from demo.loader import load_demo, load_demo_history
from ebox.celery import app as celery_app
from messages import operations
from messages.models import IntegrityIncident, Message
from messages.services import incidents, reading
from public_pages import statistics
from public_pages.models import MonthlyActivationStatistic, MonthlyMessageStatistic
from senders.models import Organisation
from tests.browser import assert_sound_html
from tests.factories import (
    CitizenFactory,
    MessageTypeFactory,
    OrganisationFactory,
    SenderApplicationFactory,
)

LANGUAGES = ("fr", "nl", "de", "en")


@pytest.fixture(autouse=True)
def _empty_cache():
    # One Redis serves the whole test session: figures cached by another test must not leak in.
    cache.clear()
    yield
    cache.clear()


def _local(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)), timezone.get_default_timezone())


def _month(value: dt.datetime) -> dt.date:
    return timezone.localtime(value).date().replace(day=1)


def _backdate(message: Message, when: dt.datetime, read_at: dt.datetime | None = None) -> None:
    Message.objects.filter(pk=message.pk).update(received_at=when, read_at=read_at)


@pytest.fixture
def history(publish, sender_application, organisation):
    """Messages over several months from two organisations, to activated and non-activated citizens."""
    today = timezone.localdate()
    this_month = today.replace(day=1)
    other = OrganisationFactory(in_transition=True, category=Organisation.Category.MUNICIPALITY)
    other_app = SenderApplicationFactory(organisation=other)
    other_type = MessageTypeFactory(organisation=other)
    digital = CitizenFactory(activated=True)
    Citizen.objects.filter(pk=digital.pk).update(activated_at=_local(statistics.add_months(this_month, -8)))
    late = CitizenFactory(activated=True)  # activated this month
    paper = CitizenFactory()
    messages = []
    for months_back, recipient, read, registered in [
        (0, digital, True, False),
        (0, paper, False, False),
        (0, late, False, True),
        (1, digital, False, True),
        (1, digital, True, False),
        (3, paper, True, False),
        (7, digital, True, False),
        (13, digital, False, False),
    ]:
        message = publish(recipient.national_number, registered_mail=registered)
        day = statistics.add_months(this_month, -months_back)
        when = _local(day if months_back else today, hour=1 if not months_back else 12)
        when = min(when, timezone.now())
        _backdate(message, when, when + dt.timedelta(minutes=5) if read else None)
        messages.append(message)
    # The organisation in its paper transition: digital recipients get paper too.
    transition = publish(digital.national_number, sender_application=other_app, message_type=other_type)
    messages.append(transition)
    return {"messages": messages, "organisations": [organisation, other], "citizens": [digital, late, paper]}


def _raw_rollups() -> dict[tuple[dt.date, int], dict[str, int]]:
    """The monthly figures recomputed from the raw messages table, in Python."""
    rows: dict[tuple[dt.date, int], Counter] = {}
    for m in Message.objects.all():
        key = (_month(m.received_at), m.sender_organisation_id)
        row = rows.setdefault(key, Counter())
        row["messages"] += 1
        row["read"] += m.read_at is not None
        row["digital"] += m.channel == Message.Channel.DIGITAL
        row["digital_registered"] += m.channel == Message.Channel.DIGITAL and m.registered_mail
    return {k: dict(v) for k, v in rows.items()}


def _stored_rollups() -> dict[tuple[dt.date, int], dict[str, int]]:
    return {
        (r.month, r.organisation_id): {
            "messages": r.messages,
            "read": r.read,
            "digital": r.digital,
            "digital_registered": r.digital_registered,
        }
        for r in MonthlyMessageStatistic.objects.all()
    }


def _normalise(rows: dict) -> dict:
    return {k: {f: v.get(f, 0) for f in ("messages", "read", "digital", "digital_registered")} for k, v in rows.items()}


# --- Rollups and the statistics page ------------------------------------------------------


def test_rollups_and_page_equal_a_recomputation_from_the_raw_tables(client, history):
    statistics.refresh_statistics()
    assert _normalise(_stored_rollups()) == _normalise(_raw_rollups())

    activated = Citizen.objects.filter(activated_at__isnull=False)
    by_month = Counter(_month(c.activated_at) for c in activated)
    assert dict(MonthlyActivationStatistic.objects.values_list("month", "activations")) == dict(by_month)

    summary = statistics.compute_summary()
    raw = Message.objects.all()
    digital = [m for m in raw if m.channel == Message.Channel.DIGITAL]
    registered = sum(m.registered_mail for m in digital)
    assert summary["users"] == activated.count() == 2
    assert summary["organisations"] == Organisation.objects.count()
    assert summary["messages"] == raw.count() == 9
    assert summary["read"] == raw.filter(read_at__isnull=False).count() == 4
    assert summary["letters_avoided"] == len(digital)
    # The transition organisation's message went on paper too; the non-activated citizen's too.
    assert Message.objects.filter(channel=Message.Channel.DIGITAL_AND_PAPER).count() == 1
    f = statistics.factors()
    expected_eur = f.eur_per_letter * (len(digital) - registered) + f.eur_per_registered_letter * registered
    assert summary["eur_saved"] == expected_eur.quantize(Decimal("0.01"))
    assert summary["co2_kg_saved"] == (f.co2_grams_per_letter * len(digital) / 1000).quantize(Decimal("0.1"))
    # The monthly series sums to the totals for the months in the window.
    assert sum(r["messages"] for r in summary["monthly"]) == summary["messages"]
    assert summary["monthly"][-1]["users"] == summary["users"]

    response = client.get("/statistics/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert_sound_html(html)
    assert f"<dd>{summary['users']}</dd>" in html
    assert f"<dd>{summary['messages']}</dd>" in html
    assert f"<dd>{summary['letters_avoided']}</dd>" in html
    assert html.count("<svg") == 4
    # Each chart has its data table, this month's row carrying the raw count.
    this_month = timezone.localdate().replace(day=1)
    messages_this_month = raw.filter(received_at__gte=_local(this_month, 0)).count()
    month_label = this_month.strftime("%B %Y")
    assert f'<th scope="row">{month_label}</th><td class="number">{messages_this_month}</td>' in html


def test_the_statistics_page_never_counts_the_raw_tables_and_is_cached(
    client, history, publish, django_capture_on_commit_callbacks
):
    statistics.refresh_statistics()
    with CaptureQueriesContext(connection) as first:
        assert client.get("/statistics/").status_code == 200
    sql = " ".join(q["sql"] for q in first.captured_queries)
    assert "mailbox_message" not in sql and "citizens_citizen" not in sql
    assert "public_pages_monthlymessagestatistic" in sql
    with CaptureQueriesContext(connection) as second:
        assert client.get("/statistics/", HTTP_ACCEPT_LANGUAGE="nl").status_code == 200
    assert not any("public_pages_monthly" in q["sql"] for q in second.captured_queries), (
        "the summary comes from the cache"
    )

    # A refresh invalidates the cached summary (after commit): new figures show at once.
    publish(history["citizens"][0].national_number)
    assert statistics.statistics_summary()["messages"] == Message.objects.count() - 1  # still the cached copy
    with django_capture_on_commit_callbacks(execute=True):
        statistics.refresh_statistics(months=1)
    assert statistics.statistics_summary()["messages"] == Message.objects.count()


def test_incremental_refresh_recomputes_only_recent_months(history, publish):
    statistics.refresh_statistics()
    before = _stored_rollups()
    old_month = statistics.add_months(timezone.localdate().replace(day=1), -7)
    late_read = Message.objects.filter(received_at__lt=_local(statistics.add_months(old_month, 1), 0)).filter(
        read_at__isnull=True
    )
    assert late_read.exists()
    late_read.update(read_at=timezone.now())  # someone reads an old message today
    new = publish(history["citizens"][0].national_number)  # and a new one arrives

    result = statistics.refresh_statistics(months=2)
    assert result.since == statistics.add_months(timezone.localdate().replace(day=1), -1)
    after = _stored_rollups()
    # Old months are left as they were (the nightly full refresh catches up)...
    assert {k: v for k, v in after.items() if k[0] < result.since} == {
        k: v for k, v in before.items() if k[0] < result.since
    }
    # ...recent ones equal the raw tables, including the new message.
    raw = _normalise(_raw_rollups())
    assert {k: v for k, v in _normalise(after).items() if k[0] >= result.since} == {
        k: v for k, v in raw.items() if k[0] >= result.since
    }
    assert (
        after[(_month(new.received_at), new.sender_organisation_id)]["messages"]
        == raw[(_month(new.received_at), new.sender_organisation_id)]["messages"]
    )
    # The full refresh equals the raw tables everywhere, and running it twice changes nothing.
    statistics.refresh_statistics()
    statistics.refresh_statistics()
    assert _normalise(_stored_rollups()) == raw
    with pytest.raises(ValueError):
        statistics.refresh_statistics(months=0)


def test_a_deactivation_leaves_the_unique_users_after_a_refresh(history):
    from citizens.services import deactivate

    statistics.refresh_statistics()
    assert statistics.compute_summary()["users"] == 2
    deactivate(history["citizens"][0])
    statistics.refresh_statistics()
    assert statistics.compute_summary()["users"] == 1


def test_beat_tasks_are_registered_and_refresh(history):
    celery_app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"public_pages.refresh_statistics", "public_pages.refresh_statistics_full"} <= names
    assert names <= set(celery_app.tasks)
    from public_pages import tasks

    assert tasks.refresh_statistics_full() == len(_raw_rollups())
    assert tasks.refresh_statistics() >= 1


def test_statistics_page_shows_something_sensible_before_any_refresh(client, db):
    response = client.get("/statistics/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "have not been calculated yet" in response.content.decode()
    assert_sound_html(response.content.decode())


# --- The organisation directory -------------------------------------------------------------


@pytest.fixture
def directory(db):
    liege = OrganisationFactory(
        short_name={"fr": "CPAS de Liège", "nl": "OCMW Luik", "de": "ÖSHZ Lüttich", "en": "CPAS of Liège"},
        category=Organisation.Category.CPAS,
        region=Organisation.Region.WALLONIA,
        joined_on=dt.date(2022, 1, 10),
    )
    finance = OrganisationFactory(
        short_name={"fr": "SPF Finances", "nl": "FOD Financiën", "de": "FÖD Finanzen", "en": "FPS Finance"},
        long_name={"fr": "Service public fédéral Finances"},
        category=Organisation.Category.FEDERAL,
        region=Organisation.Region.NATIONAL,
        joined_on=dt.date(2018, 3, 1),
    )
    ghent = OrganisationFactory(
        short_name={"fr": "Ville de Gand", "nl": "Stad Gent"},
        category=Organisation.Category.MUNICIPALITY,
        region=Organisation.Region.FLANDERS,
        joined_on=dt.date(2026, 2, 16),
    )
    MessageTypeFactory(
        organisation=finance,
        message_type_id="tax-assessment",
        name={"fr": "Avertissement-extrait de rôle", "en": "Tax assessment"},
    )
    MessageTypeFactory(organisation=finance, message_type_id="tax-reminder", name={"fr": "Rappel", "en": "Reminder"})
    return {"liege": liege, "finance": finance, "ghent": ghent}


def _names(response) -> list[str]:
    return [r["name"].get("fr") for r in response.json()["results"]]


def test_directory_lists_every_organisation_with_date_and_message_types(client, directory):
    response = client.get("/organisations/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert_sound_html(html)
    assert "3 organisations" in html
    for name in ("CPAS of Liège", "FPS Finance", "Ville de Gand"):  # Ghent has no English name: French shown
        assert name in html
    assert "Tax assessment" in html and "Reminder" in html
    assert 'datetime="2018-03-01"' in html and "1 March 2018" in html
    assert directory["finance"].enterprise_number[:4] + "." in html
    assert "<img" not in html  # no logo uploaded


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=liege", ["CPAS de Liège"]),  # accents ignored
        ("q=LUIK", ["CPAS de Liège"]),  # Dutch name, any case
        ("q=financien", ["SPF Finances"]),
        ("q=public+fédéral", ["SPF Finances"]),  # long name, every word
        ("category=municipality", ["Ville de Gand"]),
        ("region=wallonia", ["CPAS de Liège"]),
        ("region=national&category=federal", ["SPF Finances"]),
        ("region=flanders&category=federal", []),
        ("q=xyz", []),
    ],
)
def test_directory_search_and_filters(client, directory, query, expected):
    response = client.get(f"/organisations.json?{query}")
    assert response.status_code == 200
    assert sorted(_names(response)) == sorted(expected)
    assert response.json()["count"] == len(expected)
    html = client.get(f"/organisations/?{query}", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    for name in expected:
        assert name in html
    if not expected:
        assert "Aucune organisation" in html or "No organisation matches" in html


def test_directory_finds_an_enterprise_number_in_any_form(client, directory):
    number = directory["finance"].enterprise_number
    for form in (number, f"BE {number[:4]}.{number[4:7]}.{number[7:]}", number[-7:]):
        response = client.get("/organisations.json", {"q": form})
        assert [r["enterpriseNumber"] for r in response.json()["results"]] == [number], form


def test_directory_json_shape_and_pagination(client, directory):
    response = client.get("/organisations.json?page_size=2", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["count"] == 3 and body["pages"] == 2 and body["pageSize"] == 2
    assert body["previous"] is None and body["next"].endswith("page=2") and "page_size=2" in body["next"]
    finance = next(r for r in body["results"] if r["enterpriseNumber"] == directory["finance"].enterprise_number)
    assert finance["name"]["nl"] == "FOD Financiën"
    assert finance["category"] == "federal"
    assert finance["joinedOn"] == "2018-03-01"
    assert finance["logoUrl"] is None
    assert [t["messageTypeId"] for t in finance["messageTypes"]] == ["tax-assessment", "tax-reminder"]
    second = client.get(body["next"]).json()
    assert second["count"] == 3 and len(second["results"]) == 1 and second["next"] is None
    # Sorted by name in the reader's language, across pages.
    names = [r["name"]["nl"] for r in body["results"]] + [r["name"].get("nl") for r in second["results"]]
    assert names == ["FOD Financiën", "OCMW Luik", "Stad Gent"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("category=nonsense", "category"),
        ("region=mars", "region"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=100000", "page_size"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_directory_refuses_bad_parameters_with_a_clear_400(client, directory, query, field):
    response = client.get(f"/organisations.json?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field] and errors[field][0]["message"]
    page = client.get(f"/organisations/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400
    assert "Please correct the search" in page.content.decode()
    assert_sound_html(page.content.decode())


def test_directory_json_page_out_of_range_is_a_404(client, directory):
    response = client.get("/organisations.json?page=5", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "last page is 1" in response.json()["errors"]["page"][0]["message"]


def test_directory_paginates_the_html_page(client, db):
    for n in range(53):
        OrganisationFactory(short_name={"fr": f"Commune {n:02d}"})
    first = client.get("/organisations/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Commune 49" in first and "Commune 50" not in first and "Page 1 of 2" in first
    second = client.get("/organisations/?page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Commune 50" in second and "Commune 52" in second and "Commune 00" not in second


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_directory_shows_and_serves_logos(client, directory):
    finance = directory["finance"]
    finance.logo.save("finance.png", ContentFile(PNG))
    html = client.get("/organisations/").content.decode()
    url = f"/organisations/{finance.enterprise_number}/logo"
    assert f'src="{url}"' in html and 'alt=""' in html  # decorative: the name is beside it
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    body = client.get("/organisations.json", {"q": "finances"}).json()
    assert body["results"][0]["logoUrl"] == f"http://testserver{url}"
    # No logo, an unknown organisation, or a file that is not an image: 404.
    assert client.get(f"/organisations/{directory['liege'].enterprise_number}/logo").status_code == 404
    assert client.get("/organisations/0000000000/logo").status_code == 404
    ghent = directory["ghent"]
    ghent.logo.save("page.html", ContentFile(b"<script>alert(1)</script>"))
    assert client.get(f"/organisations/{ghent.enterprise_number}/logo").status_code == 404


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages_render_in_four_languages(client, directory, history, language):
    statistics.refresh_statistics()
    names = {"fr": "SPF Finances", "nl": "FOD Financiën", "de": "FÖD Finanzen", "en": "FPS Finance"}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for url in ("/organisations/", "/statistics/"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert_sound_html(html)
    assert names[language] in client.get("/organisations/").content.decode()
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    # Accept-Language works too.
    html = client.get("/organisations/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in html and names[language] in html


# --- The operator view ------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("operator", password="operator-password", is_staff=True)
    client.force_login(user)
    return client


def test_operator_view_shows_backlog_queue_incidents_and_campaigns(staff_client, publish, sender_application):
    citizen = CitizenFactory(activated=True)
    sealed = publish(citizen.national_number, subject={"fr": "Sujet confidentiel"})
    waiting = publish(citizen.national_number, seal=False)
    Message.objects.filter(pk=waiting.pk).update(received_at=timezone.now() - dt.timedelta(minutes=30))
    incidents.record_incident(sealed, "sweep", "seal does not match the content")
    IntegrityIncident.objects.create(message=sealed, detected_by="read", reason="x", resolved_at=timezone.now())

    response = staff_client.get("/admin/operations/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    backlog = operations.unsealed_backlog()
    assert backlog.unsealed == 1 and backlog.oldest_age >= dt.timedelta(minutes=29)
    assert "30\xa0minutes" in html or "30 minutes" in html
    assert operations.integrity_incidents().unresolved == 1
    depth = operations.queue_depth()
    assert isinstance(depth, int) and depth >= 0
    assert 'id="queue-depth"' in html and "not available" in html  # notifications: no hook configured
    rows = operations.campaign_progress()
    assert [(r.application_id, r.accepted_hour, r.sealed_hour, r.accepted_day, r.sealed_day) for r in rows] == [
        (sender_application.application_id, 2, 1, 2, 1)
    ]
    assert f'<th scope="row">{sender_application.application_id}</th>' in html
    # Metadata only: never the content.
    assert "Sujet confidentiel" not in html
    # Linked from the admin index.
    assert 'href="/admin/operations/"' in staff_client.get("/admin/").content.decode()


def seven() -> int:
    return 7


def broken() -> int:
    raise RuntimeError("notifications table missing")


def test_operator_view_notification_failures_hook(staff_client):
    with override_settings(EBOX_NOTIFICATION_FAILURES_SELECTOR="tests.test_public.seven"):
        assert operations.notification_failures() == 7
        html = staff_client.get("/admin/operations/").content.decode()
        assert "<dd>7</dd>" in html
    with override_settings(EBOX_NOTIFICATION_FAILURES_SELECTOR="tests.test_public.broken"):
        assert operations.notification_failures() is None
        assert staff_client.get("/admin/operations/").status_code == 200
    assert operations.notification_failures() is None


def test_operator_view_says_when_the_broker_is_down(staff_client):
    dead = "redis://127.0.0.1:1/0"
    assert operations.queue_depth(broker_url=dead) is None
    saved = celery_app.conf.broker_read_url
    celery_app.conf.broker_read_url = dead
    try:
        response = staff_client.get("/admin/operations/", HTTP_ACCEPT_LANGUAGE="en")
    finally:
        celery_app.conf.broker_read_url = saved
    assert response.status_code == 200
    assert "cannot be reached" in response.content.decode()


def test_operator_view_is_refused_to_anonymous_and_non_staff(client, django_user_model):
    response = client.get("/admin/operations/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    user = django_user_model.objects.create_user("citizen", password="citizen-password")
    client.force_login(user)
    response = client.get("/admin/operations/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- Demo data ----------------------------------------------------------------------------------


def test_demo_history_gives_meaningful_charts_and_valid_seals(db):
    load_demo()
    created = load_demo_history()
    assert created["organisations"] == 6 and created["messages"] > 500
    assert load_demo_history() == {"organisations": 0, "citizens": 0, "messages": 0}
    statistics.refresh_statistics()
    summary = statistics.compute_summary()
    months_with_messages = [r for r in summary["monthly"] if r["messages"]]
    assert len(months_with_messages) >= 20
    users = [r["users"] for r in summary["monthly"]]
    assert users == sorted(users) and users[0] < users[-1]
    assert summary["letters_avoided"] > 0 and 0 < summary["read_share"] < 1
    assert len(summary["organisations_by_year"]) >= 8
    # Back-dated before sealing: the seals still verify.
    old = Message.objects.filter(received_at__lt=timezone.now() - dt.timedelta(days=200)).select_related(
        "content", "sender_organisation", "sender_application"
    )
    for message in old[:5]:
        assert message.status == Message.Status.SEALED and message.sealed_at > message.received_at
        reading.verified_text(message)
    # Channels follow the recipient's activation at the time.
    for message in old.filter(channel=Message.Channel.DIGITAL)[:20]:
        assert message.citizen.activated_at <= message.received_at
    assert not IntegrityIncident.objects.exists()


def test_statistics_page_works_without_the_cache(client, history):
    """Redis down: the summary is computed from the rollups for each request instead of failing."""
    statistics.refresh_statistics()
    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1"}}
    with override_settings(CACHES=dead):
        response = client.get("/statistics/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert f"<dd>{Message.objects.count()}</dd>" in response.content.decode()
        statistics.refresh_statistics(months=1)  # the invalidation fails quietly too


def test_chart_axis_values_are_short_and_localised():
    from django.utils import translation

    from public_pages import charts

    with translation.override("fr"):
        assert charts._format_tick(2.5) == "2,5"
        assert charts._format_tick(250_000) == "250k"
        assert charts._format_tick(1_500_000) == "1,5M"
    with translation.override("en"):
        assert charts._format_tick(12.5) == "12.5" and charts._format_tick(50) == "50"
    svg = charts.bar_chart([charts.Point("Jan <b>", 3, "3")], "caption-id")
    assert "<b>" not in svg and "Jan &lt;b&gt;" in svg and 'aria-labelledby="caption-id"' in svg
