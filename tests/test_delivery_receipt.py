"""Issue 16, item 4: acknowledgement of receipt of registered letters, sealed, in the evidence and for the sender.

Partner app over real OAuth (authorization code + PKCE) on a live server; sender API over HTTP.
"""

from __future__ import annotations

import copy

import pytest
import requests
from django.test import Client

from citizens import services as citizen_services
from messages import evidence, signing, verify_evidence
from messages.models import MessageEvent, ReceiptAcknowledgement
from senders import services as sender_services
from tests.factories import CitizenFactory
from tests.publication_support import token_session
from tests.spec import assert_matches
from tests.test_partners import browser_session, partner, token_for  # noqa: F401 - the partner fixture


@pytest.fixture
def sender(live_server, organisation):
    issued = sender_services.create_sender_application(organisation, "status-app")
    return token_session(live_server.url, issued.client_id, issued.client_secret)


def _status(live_server, sender, message) -> dict:
    answer = sender.post(f"{live_server.url}/api/v2/searchMessageStatus", json=[{"messageId": str(message.id)}])
    assert answer.status_code == 201, answer.text
    assert_matches(answer.json(), "MessagesStatusList")
    return answer.json()[0]


def test_a_partner_opening_is_not_an_acknowledgement_then_the_partner_acknowledges(
    live_server,
    partner,  # noqa: F811
    publish,
    sender,
):
    citizen = CitizenFactory(activated=True)
    letter = publish(citizen.national_number, registered_mail=True, body_main_content=True, attachments=[])
    plain = publish(citizen.national_number)
    assert _status(live_server, sender, letter)["receiptStatus"] == "pending"
    assert "receiptStatus" not in _status(live_server, sender, plain)
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    api = f"{live_server.url}/api/v2/ebox/messages"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    # Opening the main content through the app: read, "opened", not acknowledged.
    assert requests.get(f"{api}/{letter.id}/body", headers=headers).status_code == 200
    status = _status(live_server, sender, letter)
    assert (status["readStatus"], status["receiptStatus"]) == (True, "opened")
    state = requests.get(f"{api}/{letter.id}/acknowledgement", headers=headers).json()
    assert (state["required"], state["receiptStatus"]) == (True, "opened")
    assert not ReceiptAcknowledgement.objects.exists()
    with pytest.raises(evidence.EvidenceUnavailable):
        evidence.build_evidence(letter, "receipt")
    # Bad input is a 400 StatusMessage; a plain letter takes no acknowledgement.
    bad = requests.post(f"{api}/{letter.id}/acknowledgement", json={"decision": "maybe"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["details"][0]["ref"] == "decision"
    assert_matches(bad.json(), "StatusMessage")
    not_registered = requests.post(
        f"{api}/{plain.id}/acknowledgement", json={"decision": "acknowledged"}, headers=headers
    )
    assert (not_registered.status_code, not_registered.json()["code"]) == (409, "NOT_REGISTERED")
    # The app acknowledges for the citizen: sealed, final, visible to the sender and in the evidence.
    done = requests.post(f"{api}/{letter.id}/acknowledgement", json={"decision": "acknowledged"}, headers=headers)
    assert done.status_code == 200, done.text
    client_id = partner.oauth_application.client_id
    assert (done.json()["decision"], done.json()["channel"]) == ("acknowledged", f"partner:{client_id}")
    again = requests.post(f"{api}/{letter.id}/acknowledgement", json={"decision": "refused"}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_ANSWERED")
    assert _status(live_server, sender, letter)["receiptStatus"] == "acknowledged"
    record = ReceiptAcknowledgement.objects.get()
    assert record.document["recipient"] == {"eboxType": "citizen", "eboxIdValue": citizen.national_number}
    assert signing.verify(record.document, record.seal_key_id, bytes(record.signature))
    assert MessageEvent.objects.filter(message=letter, kind="acknowledged").count() == 1
    issued = evidence.build_evidence(letter, "receipt")
    jwks = signing.jwks()
    notes = verify_evidence.verify(issued, jwks)
    assert any("receipt acknowledged" in n and f"partner:{client_id}" in n for n in notes)
    assert "acknowledgement" in evidence.build_evidence(letter, "deposit")["evidence"]
    # A forged answer does not verify.
    forged = copy.deepcopy(issued)
    forged["evidence"]["acknowledgement"]["document"]["decision"] = "refused"
    with pytest.raises(verify_evidence.Invalid):
        verify_evidence.verify(forged, jwks)


def test_the_recipient_refuses_on_the_message_page(live_server, publish, sender):
    citizen = CitizenFactory(activated=True)
    letter = publish(citizen.national_number, registered_mail=True)
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    client = Client()
    client.force_login(citizen.user)
    page = client.get(f"/inbox/{letter.id}/").content.decode()
    assert f"/inbox/{letter.id}/acknowledgement/" in page and 'value="refused"' in page
    response = client.post(f"/inbox/{letter.id}/acknowledgement/", {"decision": "refused"})
    assert response.status_code == 302
    page = client.get(f"/inbox/{letter.id}/").content.decode()
    assert 'value="refused"' not in page and "evidence.json?kind=receipt" in page
    assert _status(live_server, sender, letter)["receiptStatus"] == "refused"
    proof = client.get(f"/inbox/{letter.id}/evidence.json?kind=receipt").json()
    notes = verify_evidence.verify(proof, signing.jwks())
    assert any("receipt refused" in n and "(via portal)" in n for n in notes)
    assert {"kind": "refused", "at": proof["evidence"]["acknowledgement"]["document"]["at"]} in proof["evidence"][
        "events"
    ]
