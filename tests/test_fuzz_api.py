"""Property-based fuzzing of the whole API from its own schema (`/api/v2/schema/`), with schemathesis.

Every operation the schema lists is called with generated requests (valid and invalid data,
with a sender token or a partner token as its security scheme needs), through the real WSGI
application on the session's PostgreSQL and Redis; a 5xx answer fails. A new endpoint is
fuzzed as soon as it is in the schema.

In the suite every operation gets `FUZZ_EXAMPLES` generated calls (about two minutes in all).
For a long run:

    .venv/bin/python -m pytest tests/test_fuzz_api.py -q -s --calls 10000

spreads `--calls` over the operations (tests/conftest.py sets Hypothesis' max_examples from
it) and prints the number of calls and of 5xx answers at the end.
"""

from __future__ import annotations

import secrets
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from oauth2_provider.models import AccessToken

from citizens import services as citizen_services
from ebox.wsgi import application
from senders import services as sender_services
from tests.factories import CitizenFactory, MessageTypeFactory, OrganisationFactory
from tests.test_security import REDIRECT, citizen_user, new_client, partner_token, token_request

CALLS: Counter = Counter()
SERVER_ERRORS: list[str] = []


@contextmanager
def _connection_kept():
    """As Django's test client does: the test's connection (and its transaction) outlives each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_tokens(db, settings):
    settings.EBOX_RATE_LIMITS = {k: "100000000/60" for k in settings.EBOX_RATE_LIMITS}
    organisation = OrganisationFactory()
    MessageTypeFactory(organisation=organisation)
    app = sender_services.create_sender_application(organisation, f"fuzz-{secrets.token_hex(4)}")
    citizen = CitizenFactory(activated=True)
    citizen_user(citizen)
    partner, _ = citizen_services.create_partner_application(
        name={"fr": "Fuzz"}, redirect_uris=[REDIRECT], scopes=["ebox.read", "ebox.manage"]
    )
    sender_token = token_request(new_client(), app.client_id, app.client_secret).json()["access_token"]
    from federation.services import create_enterprise_application
    from tests.enterprise_support import client_credentials_token

    enterprise, secret = create_enterprise_application("0990000806")
    tokens = {
        "sender": sender_token,
        "partner": partner_token(partner, citizen),
        "enterprise": client_credentials_token(enterprise.oauth_application.client_id, secret),
    }
    # A long run outlasts the 10-minute tokens: a 401 for every later call would fuzz nothing.
    AccessToken.objects.update(expires=timezone.now() + timedelta(hours=3))
    return tokens


ENTERPRISE_PATHS = ("/api/events/", "/api/federation/v1/eboxPreferences", "/api/federation/v1/messageProviders")


def _token_for(operation, tokens) -> str:
    if operation.path.startswith(ENTERPRISE_PATHS) and not operation.path.endswith("/search"):
        return tokens["enterprise"]  # an enterprise's own client: federation and events
    names = " ".join(str(s) for s in (operation.definition.raw.get("security") or []))
    return tokens["partner"] if "partner" in names else tokens["sender"]


def test_no_generated_request_gets_a_server_error(fuzz_tokens):
    with _connection_kept():
        schema = schemathesis.openapi.from_wsgi("/api/v2/schema/", application)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:
            _fuzz(operation, {"Authorization": f"Bearer {_token_for(operation, fuzz_tokens)}"})
    assert not SERVER_ERRORS, "\n".join(SERVER_ERRORS[:20])


def _fuzz(operation, headers: dict) -> None:
    # Every generated case is called; a 5xx is recorded (not raised: no shrinking, every call counts).
    @settings(deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy())
    def call(case):
        response = case.call(headers=headers)
        CALLS[case.operation.label] += 1
        if response.status_code >= 500:
            SERVER_ERRORS.append(
                f"{case.operation.label}: {response.status_code} {response.text[:200]}\n    "
                + case.as_curl_command(headers)[:1000]
            )

    call()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nfuzz: {sum(CALLS.values())} calls over {len(CALLS)} operations, {len(SERVER_ERRORS)} server errors")
    for line in SERVER_ERRORS[:20]:
        print("  " + line)
