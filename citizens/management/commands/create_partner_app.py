from django.core.management.base import BaseCommand, CommandError

from citizens.services import create_partner_application


class Command(BaseCommand):
    help = "Register a partner app (OAuth authorization code + PKCE); prints client_id and, once, client_secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the name citizens see on the consent page")
        parser.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        parser.add_argument("--scope", action="append", choices=["ebox.read", "ebox.manage"], dest="scopes")
        parser.add_argument("--public", action="store_true", help="a public client (mobile app): no secret")

    def handle(self, *args, name: str, redirect_uris: list[str], scopes: list[str] | None, public: bool, **options):
        try:
            partner, secret = create_partner_application(
                name={lang: name for lang in ("fr", "nl", "de", "en")},
                redirect_uris=redirect_uris,
                scopes=scopes or ["ebox.read"],
                confidential=not public,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"client_id={partner.oauth_application.client_id}")
        if secret:
            self.stdout.write(f"client_secret={secret}")
