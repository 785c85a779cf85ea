"""State changes of citizens: registration on first sight, activation, deactivation."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from citizens.models import AccessLogEntry, ActivationChange, Citizen, PartnerApplication, PartnerGrant
from ebox import db
from ebox.dispatch import send_task_on_commit


def citizen_for_number(national_number: str) -> Citizen:
    """The eBox owner with this (valid, compact) number, created on first sight (a person or an enterprise by
    the number's length), never activated by this."""
    # A prepared look-up first: the common case, on every publication (ebox.db).
    citizen = db.fetch_one(Citizen, national_number=national_number)
    if citizen is None:
        citizen, _ = Citizen.objects.get_or_create(
            national_number=national_number, defaults={"kind": kind_of_number(national_number)}
        )
    return citizen


def kind_of_number(number: str) -> str:
    """An enterprise number has 10 digits, a national register or BIS number 11: they never collide."""
    return Citizen.Kind.ENTERPRISE if len(number) == 10 else Citizen.Kind.PERSON


def citizens_for_numbers(numbers: list[str]) -> dict[str, Citizen]:
    """Like citizen_for_number for many numbers, in two queries (campaigns)."""
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return {}
    # One INSERT … SELECT FROM unnest(array) with every other column at its default: profiling the
    # batch extension showed bulk_create building 5,000 instances and a 50,000-placeholder statement.
    template = Citizen(national_number="")
    fields = [f for f in Citizen._meta.concrete_fields if not f.primary_key and f.attname != "national_number"]
    defaults = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]  # created_at: now
    values = ["CASE WHEN length(n) = 10 THEN %s ELSE %s END" if f.attname == "kind" else "%s" for f in fields]
    defaults = [
        v
        for f, d in zip(fields, defaults, strict=True)
        for v in ((Citizen.Kind.ENTERPRISE.value, Citizen.Kind.PERSON.value) if f.attname == "kind" else (d,))
    ]
    table = Citizen._meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in ["national_number", *(f.column for f in fields)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT n, {', '.join(values)} "  # noqa: S608 - ours
            "FROM unnest(%s::varchar[]) AS n ON CONFLICT DO NOTHING",
            [*defaults, numbers],
        )
    found = Citizen.objects.raw(f"SELECT * FROM {table} WHERE national_number = ANY(%s)", [numbers])  # noqa: S608
    return {c.national_number: c for c in found}


@transaction.atomic
def activate(citizen: Citizen, *, email: str, language: str, actor: str = "citizen") -> Citizen:
    """The explicit choice for digital mail. Letters stay on paper until the address is verified
    (`Citizen.is_digital`)."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    now = timezone.now()
    if citizen.email != email:
        citizen.email = email
        citizen.email_verified_at = None
    citizen.pending_email = ""
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
    """Back to paper: letters are printed again from now on; a confirmation goes to the address on record."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.activated_at is not None:
        citizen.activated_at = None
        citizen.save(update_fields=["activated_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.DEACTIVATED, actor=actor)
        if citizen.email:
            send_task_on_commit("citizens.send_deactivation_email", citizen.pk, citizen.email)
    return citizen


@transaction.atomic
def verify_email(citizen: Citizen, email: str) -> bool:
    """Mark `email` verified if it is still the citizen's address, or their pending new one (links go stale).

    Confirming a pending new address makes it the address notifications go to; the old one
    served until this moment.
    """
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.pending_email and citizen.pending_email == email:
        citizen.email, citizen.pending_email, citizen.email_verified_at = email, "", timezone.now()
        citizen.save(update_fields=["email", "pending_email", "email_verified_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.EMAIL_VERIFIED)
        return True
    if citizen.email != email:
        return False
    if citizen.email_verified_at is None:
        citizen.email_verified_at = timezone.now()
        citizen.save(update_fields=["email_verified_at"])
        ActivationChange.objects.create(citizen=citizen, kind=ActivationChange.Kind.EMAIL_VERIFIED)
    return True


def address_to_verify(citizen: Citizen) -> str:
    """The address waiting for its confirmation link: a pending new one, or an unverified current one."""
    if citizen.pending_email:
        return citizen.pending_email
    return citizen.email if citizen.email and not citizen.email_verified_at else ""


# --- Portal: login, e-mail verification, settings, access log -------------------


def citizen_logged_in(national_number: str, *, given_name: str = "", family_name: str = "") -> Citizen:
    """The citizen behind an OIDC login, with a linked Django user. Never activates anything."""
    from django.contrib.auth import get_user_model

    User = get_user_model()  # noqa: N806 - Django's idiom
    with transaction.atomic():
        citizen = Citizen.objects.select_for_update().get(pk=citizen_for_number(national_number).pk)
        user = citizen.user
        if user is None:
            user, _ = User.objects.get_or_create(username=f"citizen-{national_number}")
            user.set_unusable_password()
            citizen.user = user
        if (user.first_name, user.last_name) != (given_name[:150], family_name[:150]):
            user.first_name, user.last_name = given_name[:150], family_name[:150]
        user.save()
        citizen.last_connection_at = timezone.now()
        citizen.save(update_fields=["user", "last_connection_at"])
    return citizen


def mailbox_opened(mailbox: Citizen) -> None:
    """A representative opened this eBox (an enterprise's, a child's): its last connection, as a login is
    a person's (eboxPreferences' lastConnectionDate)."""
    now = timezone.now()
    Citizen.objects.filter(pk=mailbox.pk).update(last_connection_at=now)
    mailbox.last_connection_at = now


EMAIL_SALT = "ebox.citizens.verify-email"


def email_verification_token(citizen: Citizen, email: str) -> str:
    """A signed, timestamped token for one citizen and one address (checked with max_age)."""
    from django.core import signing

    return signing.dumps({"c": citizen.pk, "e": email}, salt=EMAIL_SALT)


def citizen_for_token(token: str) -> tuple[Citizen, str] | None:
    """The citizen and address a verification token names, or None if bad or older than the limit."""
    from django.conf import settings
    from django.core import signing

    try:
        data = signing.loads(token, salt=EMAIL_SALT, max_age=settings.EBOX_EMAIL_VERIFICATION_MAX_AGE)
        return Citizen.objects.get(pk=data["c"]), str(data["e"])
    except (signing.BadSignature, Citizen.DoesNotExist, KeyError, TypeError):
        return None


def request_email_verification(citizen: Citizen) -> None:
    """Send a verification link to the address waiting for one, after commit, from a Celery task."""
    email = address_to_verify(citizen)
    if email:
        send_task_on_commit("citizens.send_verification_email", citizen.pk, email)


def send_verification_email(citizen_id: int, email: str) -> bool:
    """Send the link (the only content) if the address is still the citizen's and not yet verified."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils import translation
    from django.utils.translation import gettext

    citizen = Citizen.objects.filter(pk=citizen_id).first()
    if citizen is None or address_to_verify(citizen) != email:
        return False  # stale task: the address changed or was verified meanwhile
    link = settings.PUBLIC_URL + reverse("citizens:verify_email", args=[email_verification_token(citizen, email)])
    with translation.override(citizen.preferred_language):
        send_mail(
            gettext("Confirm your e-mail address for eBox"),
            gettext("To confirm this address for your eBox notifications, open this link:")
            + f"\n\n{link}\n\n"
            + gettext("If you did not ask for this, you can ignore this e-mail."),
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    return True


def send_deactivation_email(citizen_id: int, email: str) -> bool:
    """Confirm a deactivation to the address on record, unless the citizen activated again meanwhile."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import translation
    from django.utils.translation import gettext

    citizen = Citizen.objects.filter(pk=citizen_id).first()
    if citizen is None or citizen.activated_at is not None:
        return False
    with translation.override(citizen.preferred_language):
        send_mail(
            gettext("Your eBox is deactivated"),
            gettext(
                "Your eBox is deactivated: public services will send you their letters on paper again. "
                "The messages already in your eBox stay readable there."
            )
            + "\n\n"
            + gettext("If you did not do this, log in to eBox and activate it again."),
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    return True


@transaction.atomic
def update_settings(
    citizen: Citizen, *, email: str, language: str, notify_new_messages: bool, notify_reminders: bool
) -> Citizen:
    """Change the address (which then needs verifying again), language and notification choices.

    A verified address stays the one notifications go to until the new one is confirmed
    (`pending_email`); an unverified or empty one is simply replaced.
    """
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if email == citizen.email:
        citizen.pending_email = ""  # changed their mind: keep the verified address
    elif email != citizen.pending_email:
        ActivationChange.objects.create(
            citizen=citizen, kind=ActivationChange.Kind.EMAIL_CHANGED, detail={"had_address": bool(citizen.email)}
        )
        if citizen.email_verified_at and citizen.email and email:
            citizen.pending_email = email
        else:
            citizen.email, citizen.email_verified_at, citizen.pending_email = email, None, ""
    set_language(citizen, language)
    citizen.notify_new_messages, citizen.notify_reminders = notify_new_messages, notify_reminders
    citizen.save()
    request_email_verification(citizen)
    return citizen


def set_language(citizen: Citizen, language: str) -> None:
    """Store the preferred language (e-mails, content); recorded in the history when it changes."""
    if citizen.preferred_language != language:
        ActivationChange.objects.create(
            citizen=citizen,
            kind=ActivationChange.Kind.LANGUAGE_CHANGED,
            detail={"from": citizen.preferred_language, "to": language},
        )
        Citizen.objects.filter(pk=citizen.pk).update(preferred_language=language)
        citizen.preferred_language = language


def log_access(citizen: Citizen, message, action: str, *, accessor: str = "", oauth_client_id: str = "", mandate=None):
    """One line in the citizen's access log (same transaction as the access; accessor empty for themself).

    A representative's access names them and the mandate they acted under (`mandate`)."""
    if mandate is not None and not accessor:
        accessor = mandate.representative.display_name
    return AccessLogEntry.objects.create(
        citizen=citizen,
        message=message,
        action=action,
        accessor=accessor,
        oauth_client_id=oauth_client_id,
        mandate=mandate,
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
