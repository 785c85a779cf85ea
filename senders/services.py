"""State changes of senders: onboarding organisations, issuing and revoking OAuth client credentials.

The publication itself (validating a `messageToPublish`) lives in `senders.publication`;
storing messages is `messages.services.publishing`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from ebox.identifiers import normalise_enterprise_number
from senders.models import Organisation, SenderApplication

# What a sender application may ask for; partner apps get ebox.read / ebox.manage instead.
SENDER_SCOPES = ("publication", "status", "preferences", "referencedata", "evidence", "replies")


@dataclass
class IssuedCredentials:
    sender_application: SenderApplication
    client_id: str
    # Shown once: DOT stores only a hash of it.
    client_secret: str


def create_organisation(
    enterprise_number: str,
    short_name: dict[str, str],
    *,
    long_name: dict[str, str] | None = None,
    category: str = Organisation.Category.OTHER,
    region: str = Organisation.Region.NATIONAL,
    paper_transition_until: dt.date | None = None,
    paper_service: bool = False,
    return_address: str = "",
) -> Organisation:
    """Onboard an organisation (validates the KBO/BCE number; raises ValidationError)."""
    organisation = Organisation(
        enterprise_number=normalise_enterprise_number(enterprise_number),
        short_name={k: v for k, v in short_name.items() if v},
        long_name=long_name or {},
        category=category,
        region=region,
        paper_transition_until=paper_transition_until,
        paper_service=paper_service,
        return_address=return_address,
    )
    organisation.full_clean()
    organisation.save()
    return organisation


def _new_client(organisation: Organisation, application_id: str) -> tuple[Application, str]:
    client_secret = generate_client_secret()
    oauth = Application.objects.create(
        client_id=generate_client_id(),
        client_secret=client_secret,  # hashed by DOT on save
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        name=f"{organisation.enterprise_number}/{application_id}"[:255],
        skip_authorization=True,
    )
    return oauth, client_secret


@transaction.atomic
def issue_credentials(sender_application: SenderApplication) -> IssuedCredentials:
    """Client credentials for an existing sender application (e.g. from the demo data).

    One without an OAuth client gets a new one; one with a client gets a new secret
    (the old secret stops working). A revoked application stays revoked.
    """
    if sender_application.revoked_at is not None:
        raise ValidationError(f"sender application {sender_application.application_id} is revoked")
    if sender_application.oauth_application is not None:
        return rotate_client_secret(sender_application)
    oauth, client_secret = _new_client(sender_application.organisation, sender_application.application_id)
    sender_application.oauth_application = oauth
    sender_application.save(update_fields=["oauth_application"])
    return IssuedCredentials(sender_application, oauth.client_id, client_secret)


@transaction.atomic
def create_sender_application(
    organisation: Organisation, application_id: str, name: dict[str, str] | None = None
) -> IssuedCredentials:
    """A sender application with a new confidential OAuth client (client credentials grant)."""
    oauth, client_secret = _new_client(organisation, application_id)
    client_id = oauth.client_id
    sender_application = SenderApplication(
        organisation=organisation,
        application_id=application_id,
        name=name or {"fr": application_id, "nl": application_id},
        oauth_application=oauth,
    )
    sender_application.full_clean()
    sender_application.save()
    return IssuedCredentials(sender_application, client_id, client_secret)


@transaction.atomic
def rotate_client_secret(sender_application: SenderApplication) -> IssuedCredentials:
    """A new secret (shown once); the old one stops working, tokens already issued stay valid until expiry."""
    oauth = sender_application.oauth_application
    client_secret = generate_client_secret()
    oauth.client_secret = client_secret
    oauth.save(update_fields=["client_secret"])
    return IssuedCredentials(sender_application, oauth.client_id, client_secret)


@transaction.atomic
def revoke_sender_application(sender_application: SenderApplication) -> None:
    """Revoke at once: its tokens are deleted and its secret replaced by one nobody knows.

    The row and `revoked_at` stay, so the history of who published what remains readable;
    the API also refuses any token of a revoked application (see senders.api.authentication).
    """
    if sender_application.revoked_at is None:
        sender_application.revoked_at = timezone.now()
        sender_application.save(update_fields=["revoked_at"])
    oauth = sender_application.oauth_application
    if oauth is not None:
        RefreshToken.objects.filter(application=oauth).delete()
        AccessToken.objects.filter(application=oauth).delete()
        oauth.client_secret = generate_client_secret()
        oauth.save(update_fields=["client_secret"])
