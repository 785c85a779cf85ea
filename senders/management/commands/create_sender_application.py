"""`manage.py create_sender_application ORG [--application-id ID]`: prints client_id and client_secret once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from ebox.identifiers import normalise_enterprise_number
from senders import services
from senders.models import Organisation, SenderApplication


class Command(BaseCommand):
    help = (
        "Create a sender application (a confidential OAuth 2 client using client credentials) for the "
        "organisation ORG (enterprise number) and print its client_id and client_secret. The secret is "
        "stored hashed and cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="enterprise number of the organisation")
        parser.add_argument(
            "--application-id",
            help="senderApplicationId (default: derived from the org). If the organisation already has this "
            "application, it gets credentials (a new secret if it had some).",
        )
        for language in ("fr", "nl", "de", "en"):
            parser.add_argument(f"--name-{language}", default="", help=f"application name in {language}")

    def handle(self, *args, **options):
        try:
            number = normalise_enterprise_number(options["organisation"])
            organisation = Organisation.objects.get(enterprise_number=number)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except Organisation.DoesNotExist as exc:
            raise CommandError(
                f"no organisation {options['organisation']}; create it with create_organisation"
            ) from exc
        application_id = options["application_id"]
        if not application_id:
            base = slugify(f"app-{number}")
            n = SenderApplication.objects.filter(organisation=organisation).count() + 1
            application_id = f"{base}-{n}"
        names = {lang: options[f"name_{lang}"] for lang in ("fr", "nl", "de", "en") if options[f"name_{lang}"]}
        existing = SenderApplication.objects.filter(application_id=application_id).first()
        if existing is not None and existing.organisation_id != organisation.pk:
            raise CommandError(f"application id {application_id} belongs to another organisation")
        try:
            if existing is not None:
                issued = services.issue_credentials(existing)
            else:
                issued = services.create_sender_application(organisation, application_id, names or None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"client_id={issued.client_id}")
        self.stdout.write(f"client_secret={issued.client_secret}")
