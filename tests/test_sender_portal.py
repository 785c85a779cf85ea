"""The sender portal (sender_portal/): access, roles, sending one letter, following, replies, API access.

Through Django's test client on the real database; the browser walk is tests/test_sender_portal_browser.py.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEntry
from citizens import services as citizen_services
from sender_portal import services
from sender_portal.models import SenderRole
from tests.browser import assert_sound_html
from tests.factories import CitizenFactory, OrganisationFactory


def log_in(client, person):
    citizen_services.citizen_logged_in(person.national_number, given_name="Test", family_name="Servant")
    person.refresh_from_db()
    client.force_login(person.user)
    return person


@pytest.fixture
def administrator(client, organisation):
    person = CitizenFactory()
    services.grant_role(organisation, person.national_number, SenderRole.Role.ADMINISTRATOR)
    return log_in(client, person)


def sender_urls() -> list[str]:
    """Every URL of the portal's URLconf, with sample arguments (so a new page is covered by the 403 test)."""
    resolver = next(
        r for r in get_resolver().url_patterns if isinstance(r, URLResolver) and r.namespace == "sender_portal"
    )
    samples = {"int": "1", "uuid": "00000000-0000-4000-8000-000000000000", "str": "x", "slug": "x"}
    urls = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        for converter, value in samples.items():
            while f"<{converter}:" in route:
                start = route.index(f"<{converter}:")
                route = route[:start] + value + route[route.index(">", start) + 1 :]
        urls.append("/sender/" + route)
    return urls


def test_a_visitor_is_sent_to_the_login_and_back(client, db):
    response = client.get("/sender/")
    assert response.status_code == 302
    assert response["Location"].startswith("/oidc/authenticate/?next=/sender/")


@pytest.mark.parametrize("who", ["citizen", "other_organisation", "revoked"])
def test_every_sender_url_is_403_for_a_citizen_and_another_organisation(client, organisation, who):
    person = CitizenFactory()
    if who == "other_organisation":
        services.grant_role(OrganisationFactory(), person.national_number, SenderRole.Role.ADMINISTRATOR)
        # Choosing our organisation in the session changes nothing: the role is checked on each request.
    if who == "revoked":
        role = services.grant_role(organisation, person.national_number, SenderRole.Role.ADMINISTRATOR)
        services.revoke_role(role)
    log_in(client, person)
    urls = sender_urls()
    assert len(urls) >= 4
    for url in urls:
        for method in (client.get, client.post):
            # Their session names our organisation (a forged or stale choice): re-checked on each request.
            session = client.session
            session["sender_portal_organisation"] = organisation.pk
            session.save()
            response = method(url)
            assert response.status_code == 403, (url, method, response.status_code)
            assert organisation.name() not in response.content.decode()


def test_grant_sender_role_command_and_the_administrator_invites_a_colleague(client, organisation):
    person = CitizenFactory()
    call_command("grant_sender_role", organisation.enterprise_number, person.national_number, "administrator")
    log_in(client, person)
    page = client.get("/sender/")
    assert page.status_code == 200
    assert_sound_html(page.content.decode())
    assert organisation.name() in page.content.decode()

    team = client.get("/sender/team/")
    assert team.status_code == 200
    assert_sound_html(team.content.decode())
    bad = client.post("/sender/team/", {"national_number": "12345678901", "role": "sender"})
    assert bad.status_code == 200 and "not a valid national register number" in bad.content.decode()

    colleague = CitizenFactory()
    response = client.post("/sender/team/", {"national_number": colleague.national_number, "role": "statistics"})
    assert response.status_code == 302
    granted = SenderRole.objects.get(person=colleague, organisation=organisation, revoked_at__isnull=True)
    assert granted.role == "statistics" and granted.granted_by.startswith("citizen:")
    entry = AuditEntry.objects.filter(url="sender-portal:grant_role").latest("id")
    assert f"org:{organisation.enterprise_number}" in entry.actor and "roles:administrator" in entry.actor
    assert colleague.national_number not in entry.actor + " ".join(entry.ids)

    # The colleague, statistics only: no team page.
    client.logout()
    log_in(client, colleague)
    assert client.get("/sender/").status_code == 200
    assert client.get("/sender/team/").status_code == 403

    # Revoked: refused on the very next request.
    client.logout()
    log_in(client, person)
    assert client.post(f"/sender/team/{granted.pk}/revoke/").status_code == 302
    client.logout()
    log_in(client, colleague)
    assert client.get("/sender/").status_code == 403


def test_the_last_administrator_cannot_remove_themself(client, organisation, administrator):
    own = SenderRole.objects.get(person=administrator, organisation=organisation)
    client.post(f"/sender/team/{own.pk}/revoke/")
    own.refresh_from_db()
    assert own.revoked_at is None


def test_a_person_working_for_two_organisations_switches(client, organisation, administrator):
    other = OrganisationFactory()
    services.grant_role(other, administrator.national_number, SenderRole.Role.SENDER)
    first = client.get("/sender/").content.decode()
    assert 'id="organisation-select"' in first
    assert client.post("/sender/organisation/", {"organisation": other.pk}).status_code == 302
    assert other.name() in client.get("/sender/").content.decode()
    assert client.get("/sender/team/").status_code == 403  # only a sender there
    stranger = OrganisationFactory()
    assert client.post("/sender/organisation/", {"organisation": stranger.pk}).status_code == 403
