"""Settings of Celery: the worker, task publication and the beat schedule.

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

from datetime import timedelta

import environ
from celery.schedules import crontab

env = environ.Env()  # ebox.settings has already read the .env file into the environment

CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A publication must not wait on a broker outage: PostgreSQL keeps the pending work.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Publishing a task retries at most once, quickly: the beat re-dispatch is the real retry.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Seconds between two signed checkpoints of the audit chain head (beat).
EBOX_AUDIT_CHECKPOINT_SECONDS = env.int("EBOX_AUDIT_CHECKPOINT_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "redispatch-pending-work": {"task": "mailbox.redispatch_pending", "schedule": timedelta(seconds=30)},
    # Public statistics: the recent months often, the whole history once a night (see public_pages.statistics).
    "refresh-statistics-recent": {
        "task": "public_pages.refresh_statistics",
        "schedule": timedelta(seconds=env.int("EBOX_STATS_REFRESH_SECONDS", default=600)),
    },
    "refresh-statistics-full": {"task": "public_pages.refresh_statistics_full", "schedule": crontab(minute=17, hour=3)},
    "integrity-sweep": {
        "task": "mailbox.sweep_integrity",
        "schedule": timedelta(seconds=env.int("EBOX_INTEGRITY_SWEEP_SECONDS", default=300)),
    },
    # The sender portal's drafts abandoned between preview and send (sender_portal.services.sending).
    "sender-portal-sweep-drafts": {"task": "sender_portal.sweep_drafts", "schedule": crontab(minute=43, hour=4)},
    "audit-checkpoint": {"task": "audit.sign_checkpoint", "schedule": timedelta(seconds=EBOX_AUDIT_CHECKPOINT_SECONDS)},
    # Notification e-mails whose retry time or digest window has come, and claims a dead worker left.
    "send-due-notifications": {
        "task": "mailbox.send_due_notifications",
        # Seconds between two looks for due notification e-mails (one indexed query when there are none).
        "schedule": timedelta(seconds=env.int("EBOX_NOTIFICATION_POLL_SECONDS", default=10)),
    },
    "queue-reminders": {"task": "mailbox.queue_reminders", "schedule": crontab(hour=8, minute=0)},
    # Expiry and crypto-shredding (messages.services.expiry); audit retention (audit.retention).
    "expire-messages": {"task": "mailbox.expire_messages", "schedule": env.int("EBOX_EXPIRY_SECONDS", default=300)},
    "prune-audit": {"task": "audit.prune", "schedule": crontab(hour=4, minute=41)},
    # The paper service (paper/): unacknowledged registered letters to print, a print run into
    # EBOX_PRINT_OUT_DIR, and the provider's acknowledgement files picked up from it.
    "queue-unacknowledged-for-print": {"task": "paper.queue_unacknowledged", "schedule": crontab(minute=7)},
    "print-batch": {
        "task": "paper.print_batch",
        "schedule": timedelta(seconds=env.int("EBOX_PRINT_BATCH_SECONDS", default=3600)),
    },
    "collect-print-acks": {
        "task": "paper.collect_acks",
        "schedule": timedelta(seconds=env.int("EBOX_PRINT_ACK_POLL_SECONDS", default=300)),
    },
    # Sender callbacks whose retry time has come, and claims a lost worker left (senders.callbacks).
    "deliver-due-callbacks": {
        "task": "senders.deliver_due_callbacks",
        "schedule": timedelta(seconds=env.int("EBOX_CALLBACK_POLL_SECONDS", default=10)),
    },
    # Campaigns whose sending task died with its worker (campaigns.services.sending).
    "resume-campaigns": {"task": "campaigns.resume_sending", "schedule": timedelta(seconds=30)},
    # Campaigns whose check of the rows died with its worker (campaigns.services.validating).
    "resume-campaign-checks": {"task": "campaigns.resume_validating", "schedule": timedelta(seconds=30)},
    "prune-callbacks": {"task": "senders.prune_callbacks", "schedule": crontab(hour=4, minute=23)},
    # Monthly partitions created ahead, old ones detached (messages.services.partitions).
    "ensure-partitions": {
        "task": "mailbox.ensure_partitions",
        "schedule": timedelta(seconds=env.int("EBOX_PARTITION_SECONDS", default=6 * 3600)),
    },
}
# Work older than this without progress is dispatched again by beat.
EBOX_REDISPATCH_AFTER = timedelta(seconds=env.int("EBOX_REDISPATCH_AFTER_SECONDS", default=60))
# Each web process gathers the ids it published for this long, then queues one sealing task (0: one per request).
EBOX_SEAL_DISPATCH_SECONDS = env.float("EBOX_SEAL_DISPATCH_SECONDS", default=0.2)
