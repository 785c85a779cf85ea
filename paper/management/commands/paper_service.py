"""`manage.py paper_service 0308357159 --on|--off [--return-address "…"]`: switch an organisation's paper service."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ebox.identifiers import normalise_enterprise_number
from senders.models import Organisation


class Command(BaseCommand):
    help = "Switch the platform's paper service on or off for an organisation."

    def add_arguments(self, parser):
        parser.add_argument("enterprise_number")
        switch = parser.add_mutually_exclusive_group(required=True)
        switch.add_argument("--on", action="store_true")
        switch.add_argument("--off", action="store_true")
        parser.add_argument("--return-address", help="one line printed above the recipient's address")

    def handle(self, *args, **options):
        try:
            number = normalise_enterprise_number(options["enterprise_number"])
            organisation = Organisation.objects.get(enterprise_number=number)
        except (ValidationError, Organisation.DoesNotExist) as exc:
            raise CommandError(f"no organisation {options['enterprise_number']}") from exc
        organisation.paper_service = bool(options["on"])
        fields = ["paper_service"]
        if options["return_address"] is not None:
            organisation.return_address = options["return_address"]
            fields.append("return_address")
        organisation.save(update_fields=fields)
        self.stdout.write(f"organisation={organisation.enterprise_number} paper_service={organisation.paper_service}")
