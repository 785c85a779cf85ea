"""`manage.py create_enterprise_application ENTERPRISE_NUMBER`: an enterprise's own API client."""

from django.core.management.base import BaseCommand, CommandError

from federation.services import create_enterprise_application


class Command(BaseCommand):
    help = (
        "Register an enterprise's own API client (OAuth client credentials) reading its mailbox; "
        "prints client_id and, once, client_secret. Creates the enterprise's mailbox if needed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("enterprise_number", help="KBO/BCE number (0406798006 or BE 0406.798.006)")
        parser.add_argument("--name", default="", help="the client's name, shown in the access log")

    def handle(self, *args, enterprise_number: str, name: str, **options):
        try:
            application, secret = create_enterprise_application(enterprise_number, name)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"client_id={application.oauth_application.client_id}")
        self.stdout.write(f"client_secret={secret}")
