"""An application's callback URL and signing secret: set, replaced, removed; and where a URL may point.

The secret signs each callback with HMAC-SHA256, so the platform needs it in clear at delivery
time: it cannot be stored hashed like client secrets. It is generated here, shown once to the
caller, and stored wrapped under the platform KEK (`messages.crypto.wrap_key`, AES-256-GCM), never
in clear; `manage.py rotate_keys` re-wraps it like the data keys of contents.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from messages import crypto
from senders.models import SenderApplication

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def validate_callback_url(url: str) -> str:
    """The URL, normalised, if callbacks may be sent there; ValidationError otherwise.

    https only, unless EBOX_CALLBACK_ALLOW_HTTP (development, tests); no credentials in it; a
    literal private or loopback address only with EBOX_CALLBACK_ALLOW_PRIVATE (host names are
    checked again at each delivery, when they are resolved).
    """
    url = (url or "").strip()
    schemes = ["https", "http"] if settings.EBOX_CALLBACK_ALLOW_HTTP else ["https"]
    URLValidator(
        schemes=schemes,
        message=_("Enter a valid https address (https://…).") if schemes == ["https"] else None,
    )(url)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError(_("A callback URL must not carry a user name or password."))
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return url
    if not settings.EBOX_CALLBACK_ALLOW_PRIVATE and not address.is_global:
        raise ValidationError(_("A callback URL must not point to a private or loopback address."))
    return url


class TargetRefused(ValueError):
    """The callback URL points where the platform must not POST."""


def resolve_target(url: str) -> list[str]:
    """The addresses the URL's host resolves to, once, for the POST to connect to exactly these
    (a second lookup could answer differently: DNS rebinding). Raises TargetRefused if any is not
    public, unless EBOX_CALLBACK_ALLOW_PRIVATE: the platform must not be made to POST into its own
    network (SSRF); OSError when the name does not resolve (worth a retry)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = []
    for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global and not settings.EBOX_CALLBACK_ALLOW_PRIVATE:
            raise TargetRefused(f"{parts.hostname} resolves to a non-public address ({address})")
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


@transaction.atomic
def set_callback(sender_application: SenderApplication, url: str) -> str:
    """Set the callback URL and a new signing secret; returns the secret, to show once.

    The previous secret stops signing at once (callbacks still owed are signed with the new one)."""
    url = validate_callback_url(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    kek_id, wrapped = crypto.wrap_key(secret.encode())
    SenderApplication.objects.filter(pk=sender_application.pk).update(
        callback_url=url, callback_secret_kek_id=kek_id, callback_secret_wrapped=wrapped
    )
    sender_application.callback_url = url
    sender_application.callback_secret_kek_id = kek_id
    sender_application.callback_secret_wrapped = wrapped
    return secret


@transaction.atomic
def change_callback_url(sender_application: SenderApplication, url: str) -> None:
    """Point callbacks elsewhere, keeping the secret (an application without one gets `set_callback`)."""
    if not sender_application.callback_secret_wrapped:
        raise ValidationError("this application has no callback secret yet: set the callback first")
    url = validate_callback_url(url)
    SenderApplication.objects.filter(pk=sender_application.pk).update(callback_url=url)
    sender_application.callback_url = url


@transaction.atomic
def remove_callback(sender_application: SenderApplication) -> None:
    """No more callbacks: no new rows are written; rows still owed fail at their next attempt."""
    SenderApplication.objects.filter(pk=sender_application.pk).update(
        callback_url="", callback_secret_kek_id="", callback_secret_wrapped=None
    )
    sender_application.callback_url = ""
    sender_application.callback_secret_kek_id = ""
    sender_application.callback_secret_wrapped = None


def signing_secret(sender_application: SenderApplication) -> bytes:
    """The secret in clear (HMAC key), unwrapped under the KEK that wrapped it."""
    if not sender_application.callback_secret_wrapped:
        raise ValueError(f"{sender_application.application_id} has no callback secret")
    return crypto.unwrap_key(
        sender_application.callback_secret_kek_id, bytes(sender_application.callback_secret_wrapped)
    )


@transaction.atomic
def rewrap_secrets() -> int:
    """Key rotation: re-wrap every callback secret under the current KEK; returns how many changed."""
    current = crypto.load_keyring().current_id
    changed = 0
    stale = SenderApplication.objects.exclude(callback_secret_kek_id="").exclude(callback_secret_kek_id=current)
    for application in stale.select_for_update():
        kek_id, wrapped = crypto.rewrap_key(
            application.callback_secret_kek_id, bytes(application.callback_secret_wrapped)
        )
        SenderApplication.objects.filter(pk=application.pk).update(
            callback_secret_kek_id=kek_id, callback_secret_wrapped=wrapped
        )
        changed += 1
    return changed
