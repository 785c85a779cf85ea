"""Settings of e-mail: SMTP, the notification e-mails, reminders and retention periods.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

from datetime import timedelta

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="eBox <noreply@ebox.example>")
# Seconds before an SMTP connection attempt or command gives up.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Notification e-mails (see messages.notifications): at most one per citizen per digest window.
EBOX_NOTIFICATION_WINDOW = timedelta(seconds=env.int("EBOX_NOTIFICATION_WINDOW_SECONDS", default=900))
# A process asks a worker to send due e-mails at most once per this many seconds (0: after every
# commit that owes some); the beat poll above sends whatever a lost request leaves.
EBOX_NOTIFICATION_DISPATCH_SECONDS = env.float("EBOX_NOTIFICATION_DISPATCH_SECONDS", default=0.5)
# Rows one worker claims at once (one SMTP connection, templates rendered once per language and sender).
EBOX_NOTIFICATION_BATCH = env.int("EBOX_NOTIFICATION_BATCH", default=500)
# E-mails handed to SMTP between two progress records: after a lost worker at most this many are
# sent again without knowing whether a first copy arrived (same Message-ID; counted as possible duplicates).
EBOX_NOTIFICATION_CHUNK = env.int("EBOX_NOTIFICATION_CHUNK", default=100)
# Claims (attempts) before an e-mail that keeps failing is recorded as failed.
EBOX_NOTIFICATION_MAX_ATTEMPTS = env.int("EBOX_NOTIFICATION_MAX_ATTEMPTS", default=10)
# Exponential backoff after a transient SMTP failure: base * 2^(attempt-1), capped, with jitter.
EBOX_NOTIFICATION_RETRY_BASE = timedelta(seconds=env.float("EBOX_NOTIFICATION_RETRY_BASE_SECONDS", default=30))
EBOX_NOTIFICATION_RETRY_MAX = timedelta(seconds=env.float("EBOX_NOTIFICATION_RETRY_MAX_SECONDS", default=6 * 3600))
# A claim is a lease: the sending worker renews it every quarter of this while it sends; one not
# renewed for this long belongs to a lost worker and is taken back (messages.notifications.lease).
EBOX_NOTIFICATION_LEASE = timedelta(seconds=env.float("EBOX_NOTIFICATION_LEASE_SECONDS", default=20))
# Reminders: unread registered mail after this many days; unread messages expiring, payments due within.
EBOX_REMINDER_REGISTERED_AFTER_DAYS = env.int("EBOX_REMINDER_REGISTERED_AFTER_DAYS", default=5)
EBOX_REMINDER_EXPIRING_WITHIN_DAYS = env.int("EBOX_REMINDER_EXPIRING_WITHIN_DAYS", default=7)
EBOX_REMINDER_PAYMENT_WITHIN_DAYS = env.int("EBOX_REMINDER_PAYMENT_WITHIN_DAYS", default=7)
# Days from expiry to crypto-shredding of the content; days audit entries are kept (docs/integrators.md, "Retention").
EBOX_RETENTION_DAYS_AFTER_EXPIRY = env.int("EBOX_RETENTION_DAYS_AFTER_EXPIRY", default=90)
EBOX_AUDIT_RETENTION_DAYS = env.int("EBOX_AUDIT_RETENTION_DAYS", default=3653)
# The development mail view /dev/mail/ (e-mails the local SMTP sink wrote); never in production.
EBOX_DEV_MAIL_VIEW = env.bool("EBOX_DEV_MAIL_VIEW", default=False)

__all__ = [name for name in list(globals()) if name.isupper()]
