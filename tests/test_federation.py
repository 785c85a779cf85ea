"""Federation 1.3 and the enterprise event API 1.1.1 (issue 17, item 4), every operation.

Each answer is validated against its spec's definitions (tests/spec.py); bad input gets a 4xx
StatusMessage and stores nothing. The last test lists every operation of the three public specs
and checks that each is routed: 32 of 32.
"""

from __future__ import annotations

import uuid

import jsonschema
import pytest
from django.urls import Resolver404, resolve
from django.utils import timezone

from citizens.models import ActivationChange
from federation import services
from federation.models import DocumentEvent, MessageProvider
from tests.enterprise_support import (
    call,
    client_credentials_token,
    enterprise_client,
    letter_to_enterprise,
    partner_token,
    sender_token,
)
from tests.factories import CitizenFactory
from tests.spec import ENTERPRISE_EVENTS, FEDERATION, MESSAGE_REGISTRY, assert_matches, definitions, operations

BASE = "/api/federation/v1"
EVENTS = "/api/events/v1/ebox/enterprise/document/events"
BAKERY, OTHER = "0990000806", "0406798006"
MERGE_PATCH = "application/merge-patch+json"


def fed(instance, definition: str) -> None:
    assert_matches(instance, definition, FEDERATION)


@pytest.fixture
def bakery(db):
    mailbox = services.enterprise_mailbox(BAKERY, "Boulangerie Dubois SRL")
    now = timezone.now()
    type(mailbox).objects.filter(pk=mailbox.pk).update(
        activated_at=now, email="compta@boulangerie.example", email_verified_at=now
    )
    mailbox.refresh_from_db()
    return mailbox


@pytest.fixture
def letter(bakery, sender_application, message_type, pdf_bytes):
    return letter_to_enterprise(bakery, sender_application, message_type, pdf_bytes)


# --- Documentation ---------------------------------------------------------------------


def test_links_and_documentation(db):
    for method in ("GET", "OPTIONS"):
        response = call(None, method, f"{BASE}/api")
        assert response.status_code == 200
        fed(response.json(), "HalResource")
        links = response.json()["_links"]
        assert links["self"]["href"].endswith(f"{BASE}/api")
        assert links["messageProviders"]["href"].endswith(f"{BASE}/messageProviders")
        assert f'<{links["self"]["href"]}>; rel="self"' in response["Link"]

    swagger = call(None, "GET", f"{BASE}/api/doc/swagger.json")
    assert swagger.status_code == 200
    assert swagger.json()["basePath"] == BASE
    assert swagger.json()["paths"].keys() == {p for _, _, p in _paths(FEDERATION)}
    page = call(None, "GET", f"{BASE}/api/doc")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")

    schema = call(None, "GET", f"{BASE}/api/doc/jsonSchemas/MessageProvider")
    assert schema.status_code == 200
    services.platform_provider()
    _, token = enterprise_client(BAKERY)
    provider = call(token, "GET", f"{BASE}/messageProviders/ebox").json()
    jsonschema.Draft4Validator(schema.json()).validate(provider)  # the served schema checks real answers
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema.json()).validate({"messageProviderId": "x"})
    missing = call(None, "GET", f"{BASE}/api/doc/jsonSchemas/NoSuchThing")
    assert missing.status_code == 404
    fed(missing.json(), "StatusMessage")


def _paths(spec):
    return [(op, method, path.removeprefix(BASE)) for op, method, path in operations(spec)]


# --- eBox preferences --------------------------------------------------------------------


def test_preferences_search_is_the_sender_apis(db, sender_application):
    token = sender_token(sender_application)
    body = {"eboxType": "CITIZEN", "eboxIdType": "SSIN", "eboxIdValueList": [CitizenFactory().national_number]}
    response = call(token, "POST", f"{BASE}/eboxPreferences/search", body)
    assert response.status_code == 200
    fed(response.json(), "EboxPreferencesList")
    bad = call(token, "POST", f"{BASE}/eboxPreferences/search", {"eboxType": "PLANET", "eboxIdValueList": ["1"]})
    assert bad.status_code == 400
    fed(bad.json(), "StatusMessage")
    assert call(None, "POST", f"{BASE}/eboxPreferences/search", body).status_code == 401


def test_an_enterprise_changes_its_own_preferences(bakery, letter):
    _, token = enterprise_client(BAKERY)
    own = {"eboxType": "ENTERPRISE", "eboxIdValue": BAKERY}

    paper = call(token, "PATCH", f"{BASE}/eboxPreferences", {"eboxId": own, "exclusivelyEbox": False}, MERGE_PATCH)
    assert paper.status_code == 200, paper.content
    fed(paper.json(), "EboxPreferences")
    assert paper.json()["exclusivelyEbox"] is False and paper.json()["totalNumberOfMessages"] == 1
    bakery.refresh_from_db()
    assert bakery.activated_at is None
    change = ActivationChange.objects.get(citizen=bakery, kind="deactivated")
    assert change.actor.startswith("enterprise-app:")

    digital = call(token, "PATCH", f"{BASE}/eboxPreferences", {"eboxId": own, "exclusivelyEbox": True})
    assert digital.status_code == 200
    assert digital.json()["exclusivelyEbox"] is True
    bakery.refresh_from_db()
    assert bakery.is_digital


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": OTHER}, "exclusivelyEbox": False}, 401),
        ({"eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": BAKERY}, "exclusivelyEbox": "no"}, 400),
        ({"eboxId": {"eboxType": "CITIZEN", "eboxIdValue": BAKERY}, "exclusivelyEbox": False}, 400),
        ({"exclusivelyEbox": False}, 400),
        ({"eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": BAKERY}, "exclusivelyEbox": False, "email": "x"}, 400),
        ([], 400),
    ],
)
def test_bad_preference_changes_are_refused_and_change_nothing(bakery, body, status):
    _, token = enterprise_client(BAKERY)
    response = call(token, "PATCH", f"{BASE}/eboxPreferences", body, MERGE_PATCH)
    assert response.status_code == status
    fed(response.json(), "StatusMessage")
    bakery.refresh_from_db()
    assert bakery.is_digital
    assert not ActivationChange.objects.filter(citizen=bakery).exists()


def test_digital_only_with_a_verified_address_and_only_for_the_enterprise_client(db, sender_application):
    mailbox = services.enterprise_mailbox(OTHER)
    _, token = enterprise_client(OTHER)
    body = {"eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": OTHER}, "exclusivelyEbox": True}
    refused = call(token, "PATCH", f"{BASE}/eboxPreferences", body)
    assert refused.status_code == 400
    assert "verified" in refused.json()["message"]
    mailbox.refresh_from_db()
    assert mailbox.activated_at is None
    assert call(sender_token(sender_application), "PATCH", f"{BASE}/eboxPreferences", body).status_code == 403
    assert call(None, "PATCH", f"{BASE}/eboxPreferences", body).status_code == 401


# --- Message providers ------------------------------------------------------------------


def test_message_providers_are_listed_and_read_by_any_client(db, sender_application):
    _, enterprise = enterprise_client(BAKERY)
    partner = partner_token(CitizenFactory(activated=True))
    for token in (enterprise, partner, sender_token(sender_application)):
        listing = call(token, "GET", f"{BASE}/messageProviders")
        assert listing.status_code == 200
        fed(listing.json(), "MessageProviderList")
        assert [p["messageProviderId"] for p in listing.json()] == ["ebox"]
    one = call(enterprise, "GET", f"{BASE}/messageProviders/ebox")
    fed(one.json(), "MessageProvider")
    assert one.json()["apiSupportedVersion"] == "2.1"
    unknown = call(enterprise, "GET", f"{BASE}/messageProviders/nobody")
    assert unknown.status_code == 404
    fed(unknown.json(), "StatusMessage")
    assert call(enterprise, "GET", f"{BASE}/messageProviders/{'x' * 101}").status_code == 400
    assert call(None, "GET", f"{BASE}/messageProviders").status_code == 401


def _provider_client(provider: MessageProvider) -> str:
    from oauth2_provider.models import get_application_model

    app = get_application_model().objects.create(
        name="provider", client_type="confidential", authorization_grant_type="client-credentials", client_secret="p-s"
    )
    provider.oauth_application = app
    provider.save(update_fields=["oauth_application"])
    return client_credentials_token(app.client_id, "p-s")


def test_a_provider_updates_its_own_entry(db):
    provider = services.platform_provider()
    token = _provider_client(provider)
    patch = {
        "messageProviderName": {"en": "eBox (Belgium)"},
        "messageProviderDeactivationDate": "2031-01-01",
        "messageProviderPlannedMaintenance": [{"startDate": "2027-09-09T08:00:00Z", "endDate": "2027-09-09T20:00:00Z"}],
        "apiSupportedVersion": "2.2",
    }
    response = call(token, "PATCH", f"{BASE}/messageProviders/ebox", patch, MERGE_PATCH)
    assert response.status_code == 200, response.content
    fed(response.json(), "MessageProvider")
    provider.refresh_from_db()
    assert provider.name["en"] == "eBox (Belgium)" and provider.name["fr"] == "eBox"  # merged, not replaced
    assert provider.api_supported_version == "2.2" and str(provider.deactivation_date) == "2031-01-01"
    assert call(token, "GET", f"{BASE}/messageProviders/ebox").json()["messageProviderPlannedMaintenance"] == [
        {"startDate": "2027-09-09T08:00:00Z", "endDate": "2027-09-09T20:00:00Z"}
    ]


@pytest.mark.parametrize(
    "patch",
    [
        {"messageProviderId": "someone-else"},
        {"messageProviderActivationDate": "yesterday"},
        {
            "messageProviderPlannedMaintenance": [
                {"startDate": "2027-09-09T20:00:00Z", "endDate": "2027-09-09T08:00:00Z"}
            ]
        },
        {"messageProviderName": {"xx": "?"}},
        {"apiSupportedVersion": ""},
        {"color": "blue"},
        {},
    ],
)
def test_bad_provider_patches_are_refused_and_change_nothing(db, patch):
    provider = services.platform_provider()
    token = _provider_client(provider)
    before = MessageProvider.objects.values().get(pk=provider.pk)
    response = call(token, "PATCH", f"{BASE}/messageProviders/ebox", patch, MERGE_PATCH)
    assert response.status_code == 400
    fed(response.json(), "StatusMessage")
    assert MessageProvider.objects.values().get(pk=provider.pk) == before


def test_only_the_providers_client_updates_its_entry(db):
    services.platform_provider()
    _, enterprise = enterprise_client(BAKERY)
    response = call(enterprise, "PATCH", f"{BASE}/messageProviders/ebox", {"apiSupportedVersion": "9"}, MERGE_PATCH)
    assert response.status_code == 401
    fed(response.json(), "StatusMessage")
    assert MessageProvider.objects.get().api_supported_version == "2.1"


# --- Enterprise document events ------------------------------------------------------------


def _event(letter, **overrides) -> dict:
    return {
        "eventType": "readDocument",
        "eventCorrelationId": str(uuid.uuid4()),
        "enterpriseId": BAKERY,
        "messageId": str(letter.id),
        "receiptDate": "2026-11-30T10:00:00Z",
        "expirationDate": "2027-11-30T10:00:00Z",
        "registeredMail": False,
        "subject": {"fr": "Facture TVA"},
        **overrides,
    }


def test_events_are_submitted_then_read_page_by_page(letter):
    application, token = enterprise_client(BAKERY)
    client_id = application.oauth_application.client_id
    events = [_event(letter), _event(letter, eventType="newDocument"), _event(letter, eventType="readDocument")]
    for event in events:
        assert_matches(event, "EboxEnterpriseDocumentEvent", ENTERPRISE_EVENTS)
    created = call(token, "POST", f"{EVENTS}?clientId={client_id}", events)
    assert created.status_code == 201, created.content
    assert DocumentEvent.objects.filter(enterprise=letter.citizen, message=letter).count() == 3

    first = call(token, "GET", f"{EVENTS}?lastSequenceNbr=0&pageSize=2")
    assert first.status_code == 200
    assert_matches(first.json(), "EboxEnterpriseDocumentEventPage", ENTERPRISE_EVENTS)
    page = first.json()
    assert [e["eventData"]["eventType"] for e in page["EboxEnterpriseDocumentEvents"]] == [
        "readDocument",
        "newDocument",
    ]
    assert page["pageInfo"]["hasNext"] is True
    rest = call(token, "GET", f"{EVENTS}?lastSequenceNbr={page['pageInfo']['lastSequenceNbr']}&pageSize=2").json()
    assert_matches(rest, "EboxEnterpriseDocumentEventPage", ENTERPRISE_EVENTS)
    assert len(rest["EboxEnterpriseDocumentEvents"]) == 1 and rest["pageInfo"]["hasNext"] is False
    filtered = call(token, "GET", f"{EVENTS}?lastSequenceNbr=0&pageSize=10&filter=newDocument").json()
    assert [e["eventData"]["eventType"] for e in filtered["EboxEnterpriseDocumentEvents"]] == ["newDocument"]
    later = call(token, "GET", f"{EVENTS}?lastSequenceNbr=0&pageSize=10&startTime=2999-01-01T00:00:00Z").json()
    assert later["EboxEnterpriseDocumentEvents"] == []

    # Another enterprise's client sees none of them.
    _, other = enterprise_client(OTHER)
    assert call(other, "GET", f"{EVENTS}?lastSequenceNbr=0&pageSize=10").json()["EboxEnterpriseDocumentEvents"] == []

    # The same correlation id again: 409, nothing stored.
    again = call(
        token, "POST", EVENTS, [_event(letter), _event(letter, eventCorrelationId=events[0]["eventCorrelationId"])]
    )
    assert again.status_code == 409
    assert DocumentEvent.objects.count() == 3


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"eventType": "burntDocument"}, 400),
        ({"enterpriseId": "12"}, 400),
        ({"registeredMail": "yes"}, 400),
        ({"receiptDate": "yesterday"}, 400),
        ({"messageId": None}, 400),
        ({"unknown": 1}, 400),
        ({"enterpriseId": OTHER}, 403),
        ({"messageId": str(uuid.uuid4())}, 403),
        ({"messageId": "not-a-uuid"}, 403),
    ],
)
def test_bad_events_are_refused_and_nothing_is_stored(letter, change, status):
    _, token = enterprise_client(BAKERY)
    response = call(token, "POST", EVENTS, [_event(letter), _event(letter, **change)])
    assert response.status_code == status
    assert_matches(response.json(), "StatusMessage")
    assert not DocumentEvent.objects.exists()


def test_events_of_another_enterprises_message_and_wrong_callers_are_refused(
    letter, bakery, sender_application, publish
):
    foreign = publish(CitizenFactory(activated=True).national_number)
    _, token = enterprise_client(BAKERY)
    assert call(token, "POST", EVENTS, [_event(letter, messageId=str(foreign.id))]).status_code == 403
    assert call(token, "POST", f"{EVENTS}?clientId=someone-else", [_event(letter)]).status_code == 403
    for query in (
        "pageSize=10",
        "lastSequenceNbr=0",
        "lastSequenceNbr=-1&pageSize=10",
        "lastSequenceNbr=0&pageSize=0",
        "lastSequenceNbr=0&pageSize=10&filter=x",
        "lastSequenceNbr=0&pageSize=10&startTime=noon",
    ):
        response = call(token, "GET", f"{EVENTS}?{query}")
        assert response.status_code == 400, query
        assert_matches(response.json(), "StatusMessage")
    assert call(sender_token(sender_application), "GET", f"{EVENTS}?lastSequenceNbr=0&pageSize=1").status_code == 403
    assert call(partner_token(CitizenFactory()), "POST", EVENTS, [_event(letter)]).status_code == 403
    assert not DocumentEvent.objects.exists()


# --- Coverage -----------------------------------------------------------------------------


def test_every_operation_of_the_three_specs_is_routed():
    served, missing = 0, []
    for spec in (MESSAGE_REGISTRY, FEDERATION, ENTERPRISE_EVENTS):
        for operation_id, method, path in operations(spec):
            concrete = path.replace("{", "").replace("}", "")  # each path parameter becomes a sample value
            try:
                match = resolve(concrete)
            except Resolver404:
                missing.append(operation_id)
                continue
            view = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
            if view is not None and hasattr(view, method.lower()):
                served += 1
            else:
                missing.append(operation_id)
    assert missing == []
    assert served == 32  # docs/integrators.md says "32 of 32"
    assert definitions(ENTERPRISE_EVENTS)["EboxEnterpriseDocumentEvent"]
