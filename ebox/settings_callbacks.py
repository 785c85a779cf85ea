"""Settings of sender callbacks: where status changes may be POSTed, timeouts, retries and the beat poll.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

from datetime import timedelta

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

_PRODUCTION = env.str("EBOX_ENV", default="development") == "production"

# Plain http callback URLs (like OAuth redirect URIs): development and tests only.
EBOX_CALLBACK_ALLOW_HTTP = env.bool("EBOX_CALLBACK_ALLOW_HTTP", default=not _PRODUCTION)
# Callback URLs resolving to private, loopback or link-local addresses (SSRF): development and tests only.
EBOX_CALLBACK_ALLOW_PRIVATE = env.bool("EBOX_CALLBACK_ALLOW_PRIVATE", default=not _PRODUCTION)
# CA certificates (PEM file) that receivers' https certificates must chain to; empty: certifi's bundle.
EBOX_CALLBACK_CA_BUNDLE = env.str("EBOX_CALLBACK_CA_BUNDLE", default="")
# Seconds to connect to and hear back from a receiver before the attempt counts as failed.
EBOX_CALLBACK_TIMEOUT = env.float("EBOX_CALLBACK_TIMEOUT_SECONDS", default=5.0)
# Retries: base·2^(attempts−1) seconds, capped, with jitter; after the last attempt the callback is `failed`.
EBOX_CALLBACK_RETRY_BASE = timedelta(seconds=env.float("EBOX_CALLBACK_RETRY_BASE_SECONDS", default=10.0))
EBOX_CALLBACK_RETRY_MAX = timedelta(seconds=env.float("EBOX_CALLBACK_RETRY_MAX_SECONDS", default=3600.0))
EBOX_CALLBACK_MAX_ATTEMPTS = env.int("EBOX_CALLBACK_MAX_ATTEMPTS", default=12)
# A claim not finished after this long belongs to a lost worker: beat sends it again (same delivery id).
EBOX_CALLBACK_LEASE = timedelta(seconds=env.float("EBOX_CALLBACK_LEASE_SECONDS", default=60.0))
# Delivered callbacks are deleted after this many days (beat, once a day); failed ones stay for operators.
EBOX_CALLBACK_RETENTION_DAYS = env.int("EBOX_CALLBACK_RETENTION_DAYS", default=30)
# Callbacks one task claims at a time.
EBOX_CALLBACK_BATCH = env.int("EBOX_CALLBACK_BATCH", default=100)
