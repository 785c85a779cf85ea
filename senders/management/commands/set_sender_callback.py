"""`manage.py set_sender_callback APPLICATION_ID URL`: sets the callback URL and prints a new signing secret once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from senders.callbacks import configuration
from senders.models import SenderApplication


class Command(BaseCommand):
    help = (
        "Set the callback URL of a sender application (status changes of its messages are POSTed there, "
        "signed) and print a new signing secret. The secret cannot be shown again; the previous one stops "
        "signing at once. --remove stops callbacks."
    )

    def add_arguments(self, parser):
        parser.add_argument("application_id", help="senderApplicationId")
        parser.add_argument("url", nargs="?", default="", help="https URL receiving the callbacks")
        parser.add_argument("--remove", action="store_true", help="remove the callback URL and secret")

    def handle(self, *args, application_id, url, remove, **options):
        try:
            application = SenderApplication.objects.get(application_id=application_id)
        except SenderApplication.DoesNotExist as exc:
            raise CommandError(f"no sender application {application_id}") from exc
        if remove:
            configuration.remove_callback(application)
            self.stdout.write(f"callbacks of {application_id} removed")
            return
        if not url:
            raise CommandError("give the callback URL (or --remove)")
        try:
            secret = configuration.set_callback(application, url)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"callback_url={application.callback_url}")
        self.stdout.write(f"callback_secret={secret}")
