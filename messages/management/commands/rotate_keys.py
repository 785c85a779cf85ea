"""`manage.py rotate_keys`: a new key-encryption key (and optionally seal key), then re-wrap every data key."""

from django.core.management.base import BaseCommand, CommandError

from messages import crypto, integrity, signing
from senders.callbacks import configuration as callback_configuration

OPERATOR_PROCEDURE = """\
Key-encryption keys come from EBOX_KEK / EBOX_KEK_FILE: this command cannot change them.
To rotate:
  1. Generate a key:  manage.py rotate_keys --generate   (prints  <id>:<base64 32 bytes>)
  2. Put the new line FIRST in EBOX_KEK (comma-separated) or EBOX_KEK_FILE (one per line); keep the old ones after it.
  3. EBOX_KEK_FILE: every process wraps under the new first key on its next use (the file is
     checked on each use). EBOX_KEK: restart web, worker and beat processes.
  4. Run  manage.py rotate_keys --rewrap-only  (resumable: run it again if it stops); it ends only
     when a pass finds no data key under another key.
  5. Only then remove the old key from the configuration."""


class Command(BaseCommand):
    help = (
        "Rotate keys: create a new current key-encryption key (development key folder) and re-wrap every "
        "data key under it, in resumable batches. --seal also adds a new current seal key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="Also create a new current Ed25519 seal key.")
        parser.add_argument(
            "--rewrap-only", action="store_true", help="Do not create a key; re-wrap what is not under the current one."
        )
        parser.add_argument("--generate", action="store_true", help="Print a new KEK line for EBOX_KEK and exit.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, seal, rewrap_only, generate, batch_size, **options):
        if generate:
            self.stdout.write(crypto.generate_kek_line())
            return
        if seal:
            kid, valid_from = signing.add_seal_key()
            self.stdout.write(
                f"new seal key {kid} published in /.well-known/jwks.json now; it signs from {valid_from.isoformat()} "
                "(after the JWKS cache lifetime); earlier public keys stay published"
            )
        if not rewrap_only:
            if crypto.uses_development_keys():
                kek_id = crypto.generate_development_kek()
                self.stdout.write(f"new current key-encryption key {kek_id} (development key folder)")
            elif not seal:
                raise CommandError(OPERATOR_PROCEDURE)
        self.stdout.write(f"re-wrapping data keys under {crypto.load_keyring().current_id}…")

        def progress(done: int, remaining: int) -> None:
            self.stdout.write(f"  {done}/{remaining} data keys re-wrapped")

        # Returns only once a pass (after a pause for publications in flight) finds none left.
        done, current = integrity.rewrap_data_keys(batch_size=batch_size, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"{done} data key(s) re-wrapped; every data key is under {current}"))
        secrets = callback_configuration.rewrap_secrets()
        self.stdout.write(f"{secrets} callback signing secret(s) re-wrapped")
