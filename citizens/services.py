"""State changes of citizens: registration on first sight, activation, deactivation."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from citizens.models import AccessLogEntry, ActivationChange, Citizen, PartnerApplication, PartnerGrant


def citizen_for_number(national_number: str) -> Citizen:
    """The citizen with this (valid, compact) number, created on first sight, never activated by this."""
    citizen, _ = Citizen.objects.get_or_create(national_number=national_number)
    return citizen


def citizens_for_numbers(numbers: list[str]) -> dict[str, Citizen]:
    """Like citizen_for_number for many numbers, in two queries (campaigns)."""
    numbers = list(dict.fromkeys(numbers))
    Citizen.objects.bulk_create([Citizen(national_number=n) for n in numbers], ignore_conflicts=True)
    return {c.national_number: c for c in Citizen.objects.filter(national_number__in=numbers)}


@transaction.atomic
def activate(citizen: Citizen, *, email: str, language: str, actor: str = "citizen") -> Citizen:
    """The explicit choice for digital mail. The e-mail address still has to be verified."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    now = timezone.now()
    if citizen.email != email:
        citizen.email = email
        citizen.email_verified_at = None
    citizen.preferred_language = language
    if citizen.activated_at is None:
        citizen.activated_at = now
        ActivationChange.objects.create(
            citizen=citizen, kind=ActivationChange.Kind.ACTIVATED, actor=actor, detail={"language": language}
        )
    citizen.save()
    return citizen


@transaction.atomic
def deactivate(citizen: Citizen, *, actor: str = "citizen") -> Citizen:
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.activated_at is not None:
        citizen.activated_at = None
        citizen.save(update_fields=["activated_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.DEACTIVATED, actor=actor)
    return citizen


@transaction.atomic
def verify_email(citizen: Citizen, email: str) -> bool:
    """Mark `email` verified if it is still the citizen's address (the link may be stale)."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.email != email:
        return False
    if citizen.email_verified_at is None:
        citizen.email_verified_at = timezone.now()
        citizen.save(update_fields=["email_verified_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.EMAIL_VERIFIED)
    return True


# --- Access log ----------------------------------------------------------------


def log_access(citizen: Citizen, action: str, message=None, partner=None) -> AccessLogEntry:
    """Record who opened what; `partner` is a PartnerApplication, None for the citizen themself."""
    return AccessLogEntry.objects.create(
        citizen=citizen,
        message=message,
        action=action,
        accessor=partner.display_name(citizen.preferred_language) if partner else "",
        oauth_client_id=partner.oauth_application.client_id if partner else "",
    )


# --- Partner apps ----------------------------------------------------------------


def create_partner_application(
    *, name: dict[str, str], redirect_uris: list[str], scopes: list[str], confidential: bool = True, website: str = ""
) -> tuple[PartnerApplication, str | None]:
    """Register a partner app as an OAuth client (authorization code + PKCE).

    Returns the partner and, for a confidential client, its secret in clear: shown once,
    stored hashed by django-oauth-toolkit.
    """
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_application_model

    unknown = set(scopes) - set(PartnerApplication.Scope.values)
    if unknown:
        raise ValueError(f"unknown partner scope(s): {', '.join(sorted(unknown))}")
    Application = get_application_model()  # noqa: N806 - a model class
    secret = generate_client_secret() if confidential else None
    with transaction.atomic():
        application = Application.objects.create(
            name=next(iter(name.values()), "partner"),
            client_type=Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(redirect_uris),
            client_secret=secret or "",
            algorithm="",
            skip_authorization=False,
        )
        partner = PartnerApplication.objects.create(
            oauth_application=application, name=name, allowed_scopes=scopes, website=website
        )
    return partner, secret


def _delete_tokens(partner: PartnerApplication, user=None) -> None:
    from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

    filters = {"application": partner.oauth_application}
    if user is not None:
        filters["user"] = user
    get_refresh_token_model().objects.filter(**filters).delete()
    get_access_token_model().objects.filter(**filters).delete()
    get_grant_model().objects.filter(**filters).delete()


@transaction.atomic
def grant_partner_access(citizen: Citizen, partner: PartnerApplication, scopes: list[str]) -> PartnerGrant:
    """Record the citizen's consent (or widen an existing one) for these scopes."""
    scopes = sorted(set(scopes) & set(partner.allowed_scopes))
    grant = PartnerGrant.objects.select_for_update().filter(citizen=citizen, partner=partner, revoked_at=None).first()
    if grant is None:
        return PartnerGrant.objects.create(citizen=citizen, partner=partner, scopes=scopes)
    if not set(scopes) <= set(grant.scopes):
        grant.scopes = sorted(set(grant.scopes) | set(scopes))
        grant.save(update_fields=["scopes"])
    return grant


@transaction.atomic
def revoke_partner_grant(grant: PartnerGrant) -> None:
    """The citizen withdraws consent: the app's tokens for them stop working at once."""
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
    _delete_tokens(grant.partner, user=grant.citizen.user)


@transaction.atomic
def revoke_partner_application(partner: PartnerApplication) -> None:
    """An operator withdraws a partner app: every token and grant of it ends now."""
    now = timezone.now()
    if partner.revoked_at is None:
        partner.revoked_at = now
        partner.save(update_fields=["revoked_at"])
    partner.grants.filter(revoked_at=None).update(revoked_at=now)
    _delete_tokens(partner)
