"""Helpers for the enterprise API tests: enterprise mailboxes with letters, and OAuth tokens of clients."""

from __future__ import annotations

import io

from django.test import Client

from federation import services as federation_services
from messages.models import Message
from messages.services import publishing, sealing


def letter_to_enterprise(mailbox, sender_application, message_type, pdf_bytes, **overrides) -> Message:
    """A sealed message addressed to the enterprise and stored in its mailbox (recipient_type enterprise)."""
    new = publishing.NewMessage(
        sender_application=sender_application,
        message_type=message_type,
        recipient_type="enterprise",
        recipient_id=mailbox.national_number,
        subject=overrides.pop("subject", {"fr": "Facture TVA", "nl": "BTW-factuur"}),
        body=overrides.pop("body", {"fr": "Votre déclaration", "nl": "Uw aangifte"}),
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(pdf_bytes), file_name="tva.pdf", media_type="application/pdf", main_content=True
            )
        ],
        **overrides,
    )
    message = publishing.publish_message(new)
    # Publication files enterprise letters by recipient id; the mailbox row is what readers follow.
    Message.objects.filter(pk=message.id).update(citizen=mailbox)
    sealing.seal_messages([message.id])
    return Message.objects.get(pk=message.id)


def client_credentials_token(client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = Client().post("/o/token/", data)
    assert response.status_code == 200, response.content[:300]
    return response.json()["access_token"]


def enterprise_client(enterprise_number: str, name: str = "") -> tuple[object, str]:
    """(EnterpriseApplication, access token) for a new client of this enterprise."""
    application, secret = federation_services.create_enterprise_application(enterprise_number, name)
    application.secret = secret
    return application, client_credentials_token(application.oauth_application.client_id, secret)


def sender_token(sender_application, scope: str = "preferences referencedata") -> str:
    from oauth2_provider.models import get_application_model

    secret = "sender-secret-for-tests"
    app = get_application_model().objects.create(
        name="sender", client_type="confidential", authorization_grant_type="client-credentials", client_secret=secret
    )
    sender_application.oauth_application = app
    sender_application.save(update_fields=["oauth_application"])
    return client_credentials_token(app.client_id, secret, scope)


def call(token: str | None, method: str, path: str, body=None, content_type: str = "application/json", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    client = Client()
    if body is None:
        return getattr(client, method.lower())(path, **headers, **extra)
    import json

    return getattr(client, method.lower())(path, json.dumps(body), content_type=content_type, **headers, **extra)


def partner_token(citizen, token: str = "partner-token-for-tests") -> str:
    """A partner app's token acting for `citizen` (with a grant): the consent flow is tests/test_partners.py's."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from citizens import services as citizen_services

    partner, _ = citizen_services.create_partner_application(
        name={"fr": "Coffre"}, redirect_uris=["https://partner.example/cb"], scopes=["ebox.read"]
    )
    citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    citizen.user = get_user_model().objects.create(username=f"citizen-{citizen.national_number}")
    citizen.save(update_fields=["user"])
    AccessToken.objects.create(
        user=citizen.user,
        application=partner.oauth_application,
        token=token,
        expires=timezone.now() + dt.timedelta(hours=1),
        scope="ebox.read",
    )
    return token
