"""Enterprises' own API clients (issue 17, item 3) and reference data for every kind of client.

An enterprise's client (client credentials) reads its mailbox through the 2.1 consultation
operations, the views partner apps use; never another enterprise's, and a sender's or a partner's
token never reads it. Answers are validated against the spec's definitions (tests/spec.py).
"""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client

from citizens.models import AccessLogEntry, Citizen
from federation import services
from federation.models import EnterpriseApplication
from tests.enterprise_support import (
    call,
    client_credentials_token,
    enterprise_client,
    letter_to_enterprise,
    partner_token,
    sender_token,
)
from tests.factories import CitizenFactory
from tests.spec import assert_matches

BAKERY, OTHER = "0990000806", "0406798006"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.fixture
def bakery(db):
    return services.enterprise_mailbox(BAKERY, "Boulangerie Dubois SRL")


@pytest.fixture
def letter(bakery, sender_application, message_type, pdf_bytes):
    return letter_to_enterprise(bakery, sender_application, message_type, pdf_bytes)


def test_the_command_prints_the_credentials_once_and_stores_the_secret_hashed(db):
    out = StringIO()
    call_command("create_enterprise_application", "BE 0990.000.806", "--name", "Comptabilité", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    application = EnterpriseApplication.objects.get()
    assert lines["client_id"] == application.oauth_application.client_id
    assert application.oauth_application.client_secret.startswith("ebox_hmac_sha256$")
    assert lines["client_secret"] not in application.oauth_application.client_secret
    mailbox = Citizen.objects.get(national_number=BAKERY)
    assert mailbox.kind == Citizen.Kind.ENTERPRISE and application.enterprise == mailbox
    # The credentials work: a token for exactly the enterprise scopes.
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": lines["client_id"], "client_secret": lines["client_secret"]},
    )
    assert set(response.json()["scope"].split()) == {"ebox.read", "ebox.manage"}
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="0990000807"):
        call_command("create_enterprise_application", "0990000807", stdout=StringIO())
    assert EnterpriseApplication.objects.count() == 1


def test_the_enterprise_client_reads_its_mailbox_like_a_partner_app(bakery, letter, pdf_bytes):
    application, token = enterprise_client(BAKERY, "Logiciel comptable")
    summary = call(token, "GET", "/api/v2/ebox")
    assert summary.status_code == 200
    assert_matches(summary.json(), "Ebox")
    assert summary.json()["numberOfMessages"] == 1 and summary.json()["numberOfUnreadMessages"] == 1

    listing = call(token, "GET", "/api/v2/ebox/messages")
    assert_matches(listing.json(), "Messages")
    assert [m["messageId"] for m in listing.json()["items"]] == [str(letter.id)]
    one = call(token, "GET", f"/api/v2/ebox/messages/{letter.id}")
    assert_matches(one.json(), "Message")
    assert one.json()["subject"]["fr"] == "Facture TVA"
    assert call(token, "GET", f"/api/v2/ebox/messages/{letter.id}/body").json()["nl"] == "Uw aangifte"
    attachments = call(token, "GET", f"/api/v2/ebox/messages/{letter.id}/attachments")
    assert_matches(attachments.json(), "Attachments")
    attachment_id = attachments.json()["items"][0]["attachmentId"]
    content = call(token, "GET", f"/api/v2/ebox/messages/{letter.id}/attachments/{attachment_id}/content")
    assert content.status_code == 200
    assert hashlib.sha256(b"".join(content.streaming_content)).digest() == hashlib.sha256(pdf_bytes).digest()
    letter.refresh_from_db()
    assert letter.read_at is not None

    # The access log names the application that read, with its client id.
    log = AccessLogEntry.objects.filter(citizen=bakery)
    assert set(log.values_list("accessor", "oauth_client_id")) == {
        ("Logiciel comptable", application.oauth_application.client_id)
    }
    assert log.filter(action="downloaded", message=letter).exists()


def test_no_one_else_reads_the_enterprise_letter(bakery, letter, sender_application, publish):
    _, other_token = enterprise_client(OTHER)
    for path in (f"/api/v2/ebox/messages/{letter.id}", f"/api/v2/ebox/messages/{letter.id}/body"):
        response = call(other_token, "GET", path)
        assert response.status_code == 404
        assert_matches(response.json(), "StatusMessage")
    assert call(other_token, "GET", "/api/v2/ebox/messages").json()["totalItems"] == 0

    # A partner app acting for a citizen (not for the enterprise) does not see it either.
    anna = partner_token(CitizenFactory(activated=True), "partner-token-for-anna")
    assert call(anna, "GET", f"/api/v2/ebox/messages/{letter.id}").status_code == 404
    assert call(anna, "GET", "/api/v2/ebox").json()["numberOfMessages"] == 0

    # A sender's token reads no eBox at all.
    assert call(sender_token(sender_application), "GET", f"/api/v2/ebox/messages/{letter.id}").status_code == 403
    assert not AccessLogEntry.objects.filter(citizen=bakery).exists()


def test_rotating_and_revoking_end_access_at_once(bakery, letter):
    application, token = enterprise_client(BAKERY)
    old_secret = application.secret
    new_secret = services.rotate_enterprise_application_secret(application)
    response = call(token, "GET", "/api/v2/ebox")
    assert response.status_code == 401
    assert_matches(response.json(), "StatusMessage")
    client_id = application.oauth_application.client_id
    refused = Client().post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": old_secret}
    )
    assert refused.status_code == 401
    fresh = client_credentials_token(client_id, new_secret)
    assert call(fresh, "GET", "/api/v2/ebox").status_code == 200

    services.revoke_enterprise_application(application)
    assert call(fresh, "GET", "/api/v2/ebox").status_code == 401
    denied = Client().post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": new_secret}
    )
    assert denied.status_code == 401


def test_reference_data_for_partner_and_enterprise_tokens_and_logos(bakery, sender_application, message_type):
    _, token = enterprise_client(BAKERY)
    organisation = sender_application.organisation
    for path, definition in (
        ("/api/v2/referenceData/messageTypes", "MessageTypes"),
        (f"/api/v2/referenceData/senderOrganizations/{organisation.enterprise_number}", "SenderOrganization"),
        (f"/api/v2/referenceData/senderApplications/{sender_application.application_id}", "SenderApplication"),
    ):
        response = call(token, "GET", path)
        assert response.status_code == 200, response.content
        assert_matches(response.json(), definition)

    image = f"/api/v2/referenceData/senderOrganizations/{organisation.enterprise_number}/images/logo/content"
    app_image = f"/api/v2/referenceData/senderApplications/{sender_application.application_id}/images/logo/content"
    none = call(token, "GET", image)
    assert none.status_code == 404
    assert_matches(none.json(), "StatusMessage")
    organisation.logo.save("finance.png", ContentFile(PNG))
    for path in (image, app_image):
        response = call(token, "GET", path)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content == PNG
    assert call(token, "GET", image.replace("/logo/", "/banner/")).status_code == 404
    assert call(token, "GET", image.replace(organisation.enterprise_number, "0406798006")).status_code == 404
    assert call(sender_token(sender_application), "GET", image).content == PNG
    partner = partner_token(CitizenFactory(activated=True))
    assert call(partner, "GET", image).content == PNG
    assert_matches(call(partner, "GET", "/api/v2/referenceData/senderOrganizations").json(), "SenderOrganizations")
    unauthenticated = call(None, "GET", image)
    assert unauthenticated.status_code == 401
    assert_matches(unauthenticated.json(), "StatusMessage")

    # A revoked client reads nothing any more.
    application = EnterpriseApplication.objects.get()
    EnterpriseApplication.objects.filter(pk=application.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert call(token, "GET", "/api/v2/referenceData/messageTypes").status_code == 401


def test_an_operator_revokes_a_client_in_the_admin(bakery, admin_client):
    from federation.selectors import enterprise_applications

    application, token = enterprise_client(BAKERY)
    response = admin_client.post(
        "/admin/federation/enterpriseapplication/",
        {"action": "revoke", "_selected_action": [application.pk]},
    )
    assert response.status_code == 302
    assert [a.revoked_at is not None for a in enterprise_applications(bakery)] == [True]
    assert call(token, "GET", "/api/v2/ebox").status_code == 401
