"""`manage.py grant_sender_role ORG NATIONAL_NUMBER ROLE`: operators appoint a civil servant (typically an
organisation's first administrator, who then invites colleagues in the portal)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ebox.identifiers import normalise_enterprise_number
from sender_portal import services
from sender_portal.models import SenderRole
from senders.models import Organisation


class Command(BaseCommand):
    help = "Give ROLE in the organisation ORG (enterprise number) to the person with NATIONAL_NUMBER."

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="enterprise number of the organisation")
        parser.add_argument("national_number", help="national register number of the civil servant")
        parser.add_argument("role", choices=SenderRole.Role.values)

    def handle(self, *args, **options):
        try:
            organisation = Organisation.objects.get(
                enterprise_number=normalise_enterprise_number(options["organisation"])
            )
            granted = services.grant_role(organisation, options["national_number"], options["role"])
        except Organisation.DoesNotExist as exc:
            raise CommandError(f"no organisation {options['organisation']}") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{granted.person} is {granted.role} of {organisation.enterprise_number}")
