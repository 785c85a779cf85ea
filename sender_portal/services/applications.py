"""API access managed by an organisation's administrators: sender applications created, rotated and revoked
through the same services as the operators' `create_sender_application` (senders.services)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from oauth2_provider.models import AccessToken, RefreshToken

from sender_portal.models import SenderRole
from sender_portal.services import CivilServant, record
from senders import services as senders
from senders.callbacks import configuration as callbacks
from senders.models import SenderApplication


def _check(by: CivilServant, application: SenderApplication | None = None) -> None:
    if not by.has(SenderRole.Role.ADMINISTRATOR):
        raise ValidationError("only administrators manage API access")
    if application is not None and application.organisation_id != by.organisation.pk:
        raise ValidationError("not an application of this organisation")


@transaction.atomic
def create(name: str, by: CivilServant) -> senders.IssuedCredentials:
    """A new sender application named `name`; its client secret is in the result, shown once."""
    _check(by)
    base = slugify(f"{name}-{by.organisation.enterprise_number}")[:90] or f"app-{by.organisation.enterprise_number}"
    application_id, n = base, 1
    while SenderApplication.objects.filter(application_id=application_id).exists():
        n += 1
        application_id = f"{base}-{n}"
    issued = senders.create_sender_application(by.organisation, application_id, {"fr": name, "nl": name, "en": name})
    record(by, "create_application", [issued.sender_application.application_id])
    return issued


@transaction.atomic
def rotate(application: SenderApplication, by: CivilServant) -> senders.IssuedCredentials:
    """A new secret; the old secret AND the tokens obtained with it stop at once (a rotation from the
    portal is often a leak being closed)."""
    _check(by, application)
    issued = senders.issue_credentials(application)
    RefreshToken.objects.filter(application=application.oauth_application).delete()
    AccessToken.objects.filter(application=application.oauth_application).delete()
    record(by, "rotate_application", [application.application_id])
    return issued


@transaction.atomic
def revoke(application: SenderApplication, by: CivilServant) -> None:
    _check(by, application)
    senders.revoke_sender_application(application)
    record(by, "revoke_application", [application.application_id])


@transaction.atomic
def set_callback(application: SenderApplication, url: str, by: CivilServant) -> str:
    """Set the callback URL with a new signing secret (returned, to show once) through the same service
    as `manage.py set_sender_callback`; ValidationError for a URL callbacks may not go to."""
    _check(by, application)
    secret = callbacks.set_callback(application, url)
    record(by, "set_callback", [application.application_id])
    return secret


@transaction.atomic
def remove_callback(application: SenderApplication, by: CivilServant) -> None:
    _check(by, application)
    callbacks.remove_callback(application)
    record(by, "remove_callback", [application.application_id])
