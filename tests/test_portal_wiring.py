"""Portal pages wired to finished services: an administrator sets an application's callback URL in the
sender portal and a published letter's status change reaches a real HTTP receiver, signed with the
secret the page showed once, through a real Celery worker."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from audit.models import AuditEntry
from citizens import services as citizen_services
from federation import services as federation
from federation.models import EnterpriseApplication
from mandates.models import Mandate
from sender_portal import services
from sender_portal.models import SenderRole
from senders.models import SenderApplication
from tests.browser import assert_sound_html
from tests.callback_receiver import Receiver
from tests.factories import CitizenFactory, OrganisationFactory
from tests.test_callbacks import documented_verifier, wait_until


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def log_in(client, person):
    citizen_services.citizen_logged_in(person.national_number, given_name="Test", family_name="Servant")
    person.refresh_from_db()
    client.force_login(person.user)
    client.cookies["ebox_language"] = "en"
    return person


def log_in_administrator(client, organisation):
    person = CitizenFactory()
    services.grant_role(organisation, person.national_number, SenderRole.Role.ADMINISTRATOR)
    return log_in(client, person)


@pytest.mark.worker
def test_a_callback_set_in_the_portal_receives_signed_status_changes(
    client, settings, celery_worker_factory, organisation, sender_application, receiver, publish, citizen
):
    log_in_administrator(client, organisation)
    page_url = f"/sender/api-access/{sender_application.pk}/callback/"
    listing = client.get("/sender/api-access/").content.decode()
    assert page_url in listing and "off" in listing

    # A private address is a form error, nothing stored.
    settings.EBOX_CALLBACK_ALLOW_PRIVATE = False
    refused = client.post(page_url, {"url": "https://10.1.2.3/hook", "action": "set"})
    assert refused.status_code == 200
    assert "must not point to a private or loopback address" in refused.content.decode()
    settings.EBOX_CALLBACK_ALLOW_HTTP = False
    refused = client.post(page_url, {"url": "http://example.org/hook", "action": "set"})
    assert "Enter a valid https address" in refused.content.decode()
    sender_application.refresh_from_db()
    assert sender_application.callback_url == ""

    settings.EBOX_CALLBACK_ALLOW_PRIVATE = settings.EBOX_CALLBACK_ALLOW_HTTP = True
    shown = client.post(page_url, {"url": receiver.url, "action": "set"})
    assert shown.status_code == 200
    html = shown.content.decode()
    assert_sound_html(html)
    secret = re.search(r'id="callback-secret">([^<]+)<', html).group(1)
    assert secret.startswith("whsec_")
    sender_application.refresh_from_db()
    assert sender_application.callback_url == receiver.url
    assert secret.encode() not in bytes(sender_application.callback_secret_wrapped)
    assert secret not in client.get(page_url).content.decode()  # shown once

    celery_worker_factory()
    message = publish(citizen.national_number)
    received = receiver.wait_for(1)
    assert received[0].json["messageId"] == str(message.id) and received[0].json["event"] == "sealed"
    verify = documented_verifier()
    assert verify(secret, received[0].headers["X-Ebox-Signature"], received[0].body)

    assert wait_until(lambda: 'id="callback-state">delivered<' in client.get(page_url).content.decode())
    page = client.get(page_url).content.decode()
    assert_sound_html(page)
    assert 'id="callback-failed">0<' in page

    removed = client.post(page_url, {"action": "remove"})
    assert removed.status_code == 302
    assert SenderApplication.objects.get(pk=sender_application.pk).callback_url == ""
    for action in ("set_callback", "remove_callback"):
        assert AuditEntry.objects.filter(
            url=f"sender-portal:{action}", ids__contains=[sender_application.application_id]
        ).exists()


def test_a_callback_page_of_another_organisation_is_404_and_a_non_administrator_403(
    client, organisation, sender_application
):
    log_in_administrator(client, OrganisationFactory())
    assert client.get(f"/sender/api-access/{sender_application.pk}/callback/").status_code == 404
    viewer = log_in(client, CitizenFactory())
    services.grant_role(organisation, viewer.national_number, SenderRole.Role.STATISTICS)
    assert client.get(f"/sender/api-access/{sender_application.pk}/callback/").status_code == 403
    assert client.post(f"/sender/api-access/{sender_application.pk}/callback/", {"action": "remove"}).status_code == 403


def test_only_a_manage_representative_of_the_enterprise_has_its_api_clients(client, db):
    """A read-only representative and a person in their own eBox get 404; rotation from the page
    shows a new secret once and stops the old one; clients of another enterprise are not reachable."""
    bakery = federation.enterprise_mailbox("0990000806", "Boulangerie Dubois SRL")
    other_client, _ = federation.create_enterprise_application("0406798006", "Autre")
    manager, reader = log_in(client, CitizenFactory()), CitizenFactory()
    for person, scope in ((manager, Mandate.Scope.MANAGE), (reader, Mandate.Scope.READ)):
        Mandate.objects.create(
            owner=bakery, representative=person, role=Mandate.Role.DIRECTOR, scope=scope, valid_from=dt.date(2020, 1, 1)
        )
    assert client.get("/api-clients/").status_code == 404  # own eBox: no page
    client.post("/mailbox/", {"mailbox": bakery.pk})
    page = client.get("/api-clients/")
    assert page.status_code == 200 and "No API client yet." in page.content.decode()
    assert client.post("/api-clients/", {"name": ""}).status_code == 400
    created = client.post("/api-clients/", {"name": "Logiciel comptable"}).content.decode()
    first = re.search(r'id="client-secret">([^<]+)<', created).group(1)
    application = EnterpriseApplication.objects.get(enterprise=bakery)
    rotated = client.post(f"/api-clients/{application.pk}/rotate/").content.decode()
    second = re.search(r'id="client-secret">([^<]+)<', rotated).group(1)
    assert second != first
    client_id = application.oauth_application.client_id
    assert (
        Client()
        .post("/o/token/", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": first})
        .status_code
        == 401
    )
    assert (
        Client()
        .post("/o/token/", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": second})
        .status_code
        == 200
    )
    for path in ("/api-clients/", f"/api-clients/{application.pk}/rotate/"):
        assert AuditEntry.objects.filter(url=path, method="POST", ids__contains=[client_id]).exists()
    assert client.post(f"/api-clients/{other_client.pk}/revoke/").status_code == 404
    assert EnterpriseApplication.objects.get(pk=other_client.pk).revoked_at is None

    log_in(client, reader)
    client.post("/mailbox/", {"mailbox": bakery.pk})
    assert client.get("/api-clients/").status_code == 404
    assert client.post(f"/api-clients/{application.pk}/revoke/").status_code == 404
    assert EnterpriseApplication.objects.get(pk=application.pk).revoked_at is None
