"""State changes of the federation: enterprise API clients (create, rotate, revoke), an enterprise's
eBox preferences, message provider entries, and enterprise document events.

Every refusal is a `Refused` (HTTP status, message, details in the spec's Detail shape): the API
views turn it into a StatusMessage; nothing is stored when one is raised.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from citizens import services as citizen_services
from citizens.models import Citizen
from ebox.identifiers import normalise_enterprise_number
from federation.models import DocumentEvent, EnterpriseApplication, MessageProvider
from messages.models import Message


class Refused(Exception):
    def __init__(self, status: int, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


def _detail(ref: str, message: str) -> dict:
    return {"kind": "invalid", "ref": ref, "message": message}


# --- Enterprise mailboxes and their API clients -------------------------------------


def enterprise_mailbox(enterprise_number: str, name: str = "") -> Citizen:
    """The enterprise's mailbox row (kind enterprise), created on first sight. Raises ValueError for a bad number."""
    from django.core.exceptions import ValidationError

    try:
        number = normalise_enterprise_number(enterprise_number)
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from exc
    mailbox, created = Citizen.objects.get_or_create(
        national_number=number, defaults={"kind": Citizen.Kind.ENTERPRISE, "name": name}
    )
    changes = {}
    if mailbox.kind != Citizen.Kind.ENTERPRISE:
        changes["kind"] = Citizen.Kind.ENTERPRISE
    if name and not mailbox.name:
        changes["name"] = name
    if changes and not created:
        Citizen.objects.filter(pk=mailbox.pk).update(**changes)
        for field, value in changes.items():
            setattr(mailbox, field, value)
    return mailbox


@transaction.atomic
def create_enterprise_application(enterprise_number: str, name: str = "") -> tuple[EnterpriseApplication, str]:
    """A new client-credentials OAuth client for the enterprise; returns it and its secret (shown once,
    stored hashed by django-oauth-toolkit under ebox.security's hasher)."""
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_application_model

    mailbox = enterprise_mailbox(enterprise_number)
    name = name or f"{mailbox.name or mailbox.national_number} API"
    Application = get_application_model()  # noqa: N806 - a model class
    secret = generate_client_secret()
    oauth = Application.objects.create(
        name=name[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        algorithm="",
        skip_authorization=True,
    )
    application = EnterpriseApplication.objects.create(enterprise=mailbox, oauth_application=oauth, name=name)
    return application, secret


def _delete_tokens(application: EnterpriseApplication) -> None:
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    get_refresh_token_model().objects.filter(application=application.oauth_application).delete()
    get_access_token_model().objects.filter(application=application.oauth_application).delete()


@transaction.atomic
def rotate_enterprise_application_secret(application: EnterpriseApplication) -> str:
    """A new secret (returned once); the old one and every token issued with it stop working now."""
    from oauth2_provider.generators import generate_client_secret

    if application.revoked_at is not None:
        raise Refused(409, "this client was revoked")
    secret = generate_client_secret()
    oauth = application.oauth_application
    oauth.client_secret = secret
    oauth.save(update_fields=["client_secret"])  # hashed on save (hash_client_secret)
    application.secret_rotated_at = timezone.now()
    application.save(update_fields=["secret_rotated_at"])
    _delete_tokens(application)
    return secret


@transaction.atomic
def revoke_enterprise_application(application: EnterpriseApplication) -> None:
    """The client stops working at once: its tokens are deleted and no new one is issued (its secret
    is replaced by a random one no one knows)."""
    from oauth2_provider.generators import generate_client_secret

    if application.revoked_at is None:
        application.revoked_at = timezone.now()
        application.save(update_fields=["revoked_at"])
        oauth = application.oauth_application
        oauth.client_secret = generate_client_secret()
        oauth.save(update_fields=["client_secret"])
    _delete_tokens(application)


# --- eBox preferences (PATCH /eboxPreferences) -------------------------------------


def update_ebox_preferences(application: EnterpriseApplication, body: object) -> Citizen:
    """An enterprise's own `exclusivelyEbox` (EboxPreferencesToUpdate), through its own client.

    false: back to paper (deactivation). true: only an activated mailbox with a verified address
    becomes digital; activation itself is done by a representative in the portal.
    """
    if not isinstance(body, dict):
        raise Refused(400, "body must be an EboxPreferencesToUpdate object", [_detail("body", "must be an object")])
    ebox_id, exclusively = body.get("eboxId"), body.get("exclusivelyEbox")
    errors = []
    if not isinstance(ebox_id, dict) or not isinstance(ebox_id.get("eboxIdValue"), str):
        errors.append(_detail("eboxId", "eboxId {eboxType, eboxIdValue} is required"))
    elif str(ebox_id.get("eboxType", "")).upper() != "ENTERPRISE":
        errors.append(_detail("eboxId.eboxType", "must be ENTERPRISE"))
    if not isinstance(exclusively, bool):
        errors.append(_detail("exclusivelyEbox", "must be true or false"))
    unknown = set(body) - {"eboxId", "exclusivelyEbox"}
    if unknown:
        errors.extend(_detail(name, "cannot be changed") for name in sorted(unknown))
    if errors:
        raise Refused(400, "invalid data", errors)
    mailbox = application.enterprise
    if ebox_id["eboxIdValue"].replace(".", "").replace(" ", "") != mailbox.national_number:
        raise Refused(401, "this client may only change its own enterprise's eBox")
    actor = f"enterprise-app:{application.oauth_application.client_id}"
    if exclusively is False:
        return citizen_services.deactivate(mailbox, actor=actor)
    if mailbox.is_digital:
        return mailbox
    if not (mailbox.email and mailbox.email_verified_at):
        raise Refused(
            400,
            "a representative must first activate this eBox with a verified e-mail address in the portal",
            [_detail("exclusivelyEbox", "no verified e-mail address for this enterprise")],
        )
    return citizen_services.activate(mailbox, email=mailbox.email, language=mailbox.preferred_language, actor=actor)


# --- Message providers --------------------------------------------------------------


def platform_provider() -> MessageProvider:
    """eBox's own entry in the registry, created from the settings the first time it is asked for."""
    provider, _ = MessageProvider.objects.get_or_create(
        provider_id=settings.EBOX_MESSAGE_PROVIDER_ID,
        defaults={
            "name": {"nl": "eBox", "fr": "eBox", "de": "eBox", "en": "eBox"},
            "description": {
                "nl": "Digitale brievenbus van de overheid",
                "fr": "Boîte aux lettres numérique des autorités",
                "de": "Digitaler Briefkasten der Behörden",
                "en": "The public authorities' digital mailbox",
            },
            "url": settings.EBOX_MESSAGE_PROVIDER_URL,
            "activation_date": dt.date(2026, 1, 1),
            "technical_contact": settings.EBOX_MESSAGE_PROVIDER_CONTACT,
            "api_supported_version": "2.1",
        },
    )
    return provider


LANGUAGES = ("nl", "fr", "de", "en")


def _translated(value, ref: str, errors: list) -> dict | None:
    if (
        not isinstance(value, dict)
        or set(value) - set(LANGUAGES)
        or not all(isinstance(v, str) for v in value.values())
    ):
        errors.append(_detail(ref, "must be an object of strings by language (nl, fr, de, en)"))
        return None
    return value


def _date(value, ref: str, errors: list, nullable: bool = False) -> dt.date | None:
    if value is None and nullable:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        errors.append(_detail(ref, "must be a date YYYY-MM-DD"))
        return None


def _datetime(value, ref: str, errors: list) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors.append(_detail(ref, "must be a date-time with a time zone (RFC 3339)"))
        return None
    return parsed


def _text(value, ref: str, errors: list, low: int = 1, high: int = 500) -> str | None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        errors.append(_detail(ref, f"must be a string of {low} to {high} characters"))
        return None
    return value


def _maintenance(value, errors: list) -> list | None:
    if not isinstance(value, list) or len(value) > 100:
        errors.append(_detail("messageProviderPlannedMaintenance", "must be a list (at most 100)"))
        return None
    out = []
    for i, item in enumerate(value):
        ref = f"messageProviderPlannedMaintenance[{i}]"
        if not isinstance(item, dict):
            errors.append(_detail(ref, "must be an object {startDate, endDate}"))
            continue
        start = _datetime(item.get("startDate"), f"{ref}.startDate", errors)
        end = _datetime(item.get("endDate"), f"{ref}.endDate", errors)
        if start and end and end <= start:
            errors.append(_detail(f"{ref}.endDate", "must be after startDate"))
        out.append({"startDate": item.get("startDate"), "endDate": item.get("endDate")})
    return out


@transaction.atomic
def update_message_provider(provider: MessageProvider, patch: object) -> MessageProvider:
    """Apply a JSON merge patch (RFC 7396) of MessageProvider fields; the id cannot change."""
    if not isinstance(patch, dict) or not patch:
        raise Refused(400, "body must be a non-empty MessageProvider object", [_detail("body", "must be an object")])
    errors: list[dict] = []
    changes: dict = {}
    for key, value in patch.items():
        if key == "messageProviderId":
            if value != provider.provider_id:
                errors.append(_detail(key, "the id of a message provider cannot change"))
        elif key == "_links":
            continue  # read-only
        elif key in ("messageProviderName", "messageProviderDescription"):
            field = "name" if key == "messageProviderName" else "description"
            merged = {**getattr(provider, field), **(value or {})} if isinstance(value, dict) else value
            merged = {k: v for k, v in merged.items() if v is not None} if isinstance(merged, dict) else merged
            changes[field] = _translated(merged, key, errors)
        elif key == "messageProviderUrl":
            changes["url"] = _text(value, key, errors)
        elif key == "messageProviderTechnicalContact":
            changes["technical_contact"] = _text(value, key, errors, high=200)
        elif key == "apiSupportedVersion":
            changes["api_supported_version"] = _text(value, key, errors, high=20)
        elif key == "messageProviderActivationDate":
            changes["activation_date"] = _date(value, key, errors)
        elif key == "messageProviderDeactivationDate":
            changes["deactivation_date"] = _date(value, key, errors, nullable=True)
        elif key == "messageProviderPlannedMaintenance":
            changes["planned_maintenance"] = _maintenance([] if value is None else value, errors)
        else:
            errors.append(_detail(key, "unknown property of MessageProvider"))
    if errors:
        raise Refused(400, "invalid data", errors)
    for field, value in changes.items():
        setattr(provider, field, value)
    provider.save()
    return provider


# --- Enterprise document events -----------------------------------------------------

EVENT_FIELDS = {
    "eventType",
    "eventCorrelationId",
    "enterpriseId",
    "messageId",
    "receiptDate",
    "expirationDate",
    "registeredMail",
    "messageTypeId",
    "senderOrganizationId",
    "senderApplicationId",
    "subject",
}
MAX_EVENTS = 100


def _event_errors(i: int, event: object, errors: list) -> None:
    ref = f"[{i}]"
    if not isinstance(event, dict):
        errors.append(_detail(ref, "must be an EboxEnterpriseDocumentEvent object"))
        return
    for name in ("eventType", "enterpriseId", "messageId", "receiptDate", "expirationDate", "registeredMail"):
        if name not in event:
            errors.append(_detail(f"{ref}.{name}", "required"))
    for name in sorted(set(event) - EVENT_FIELDS):
        errors.append(_detail(f"{ref}.{name}", "unknown property"))
    if "eventType" in event and event["eventType"] not in DocumentEvent.Type.values:
        errors.append(_detail(f"{ref}.eventType", f"must be one of {', '.join(DocumentEvent.Type.values)}"))
    enterprise_id = event.get("enterpriseId")
    if "enterpriseId" in event and not (
        isinstance(enterprise_id, str) and len(enterprise_id) == 10 and enterprise_id.isdigit()
    ):
        errors.append(_detail(f"{ref}.enterpriseId", "must be 10 digits"))
    if "registeredMail" in event and not isinstance(event["registeredMail"], bool):
        errors.append(_detail(f"{ref}.registeredMail", "must be a boolean"))
    for name in ("receiptDate", "expirationDate"):
        if name in event:
            _datetime(event[name], f"{ref}.{name}", errors)
    for name in ("messageId", "eventCorrelationId", "messageTypeId", "senderOrganizationId", "senderApplicationId"):
        if name in event and not (isinstance(event[name], str) and 0 < len(event[name]) <= 200):
            errors.append(_detail(f"{ref}.{name}", "must be a string of 1 to 200 characters"))
    if "subject" in event:
        _translated(event["subject"], f"{ref}.subject", errors)


def submit_document_events(application: EnterpriseApplication, events: object) -> list[DocumentEvent]:
    """Store events about the enterprise's own messages, all or none (400, 403, 409 as the spec says)."""
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise Refused(400, f"body must be an array of 1 to {MAX_EVENTS} events", [_detail("body", "invalid array")])
    errors: list[dict] = []
    for i, event in enumerate(events):
        _event_errors(i, event, errors)
    if errors:
        raise Refused(400, "invalid data", errors)
    mailbox = application.enterprise
    if any(event["enterpriseId"] != mailbox.national_number for event in events):
        raise Refused(403, "a client submits events of its own enterprise only")
    ids = {}
    for event in events:
        try:
            ids[event["messageId"]] = uuid.UUID(event["messageId"])
        except ValueError:
            raise Refused(403, f"message {event['messageId']} is not one of this enterprise's messages") from None
    messages = {str(m.pk): m for m in Message.objects.filter(citizen=mailbox, pk__in=list(ids.values()))}
    for key, value in ids.items():
        if str(value) not in messages:
            raise Refused(403, f"message {key} is not one of this enterprise's messages")
    client_id = application.oauth_application.client_id
    correlations = [e["eventCorrelationId"] for e in events if e.get("eventCorrelationId")]
    if len(correlations) != len(set(correlations)):
        raise Refused(409, "the same eventCorrelationId twice in one submission")
    rows = [
        DocumentEvent(
            enterprise=mailbox,
            message=messages[str(ids[event["messageId"]])],
            event_type=event["eventType"],
            client_id=client_id,
            provider_id=client_id,
            correlation_id=event.get("eventCorrelationId", ""),
            data=event,
        )
        for event in events
    ]
    try:
        with transaction.atomic():
            return DocumentEvent.objects.bulk_create(rows)
    except IntegrityError:
        raise Refused(409, "an event with this eventCorrelationId was already submitted by this client") from None
