"""`manage.py create_organisation 0308357159 --name-fr "SPF Finances" --name-nl "FOD Financiën" …`"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from senders import services
from senders.models import Organisation


class Command(BaseCommand):
    help = "Onboard a sending organisation (public body) by its KBO/BCE enterprise number."

    def add_arguments(self, parser):
        parser.add_argument("enterprise_number", help="KBO/BCE number, e.g. 0308357159 or BE 0308.357.159")
        for language in ("fr", "nl", "de", "en"):
            parser.add_argument(f"--name-{language}", default="", help=f"short name in {language}")
        parser.add_argument("--category", choices=Organisation.Category.values, default=Organisation.Category.OTHER)
        parser.add_argument("--region", choices=Organisation.Region.values, default=Organisation.Region.NATIONAL)
        parser.add_argument("--paper-transition-until", type=dt.date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument(
            "--paper-service",
            action="store_true",
            help="the platform prints and posts letters to non-digital recipients",
        )
        parser.add_argument("--return-address", default="", help="one line printed above addresses on paper letters")

    def handle(self, *args, **options):
        names = {lang: options[f"name_{lang}"] for lang in ("fr", "nl", "de", "en") if options[f"name_{lang}"]}
        if not names:
            raise CommandError("give the organisation's name in at least one language (--name-fr, --name-nl…)")
        try:
            organisation = services.create_organisation(
                options["enterprise_number"],
                names,
                category=options["category"],
                region=options["region"],
                paper_transition_until=options["paper_transition_until"],
                paper_service=options["paper_service"],
                return_address=options["return_address"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"organisation={organisation.enterprise_number}")
