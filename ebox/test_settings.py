"""Settings for the test session: its own PostgreSQL and Redis in a temporary data folder.

Each pytest run gets private servers (started once per session, stopped at exit), so
two runs on one machine never share a database or a queue. Processes the tests start
(a Celery worker, a web server) inherit EBOX_DATA_DIR and reuse the same servers.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

if "EBOX_DATA_DIR" not in os.environ:
    _data_dir = Path(tempfile.mkdtemp(prefix="ebox-test-"))
    os.environ["EBOX_DATA_DIR"] = str(_data_dir)
    os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:1")  # tests start their own SMTP sink

    def _stop_services() -> None:
        from ebox.embedded import stop_postgres, stop_redis

        stop_redis(_data_dir)
        stop_postgres(_data_dir)
        shutil.rmtree(_data_dir, ignore_errors=True)

    atexit.register(_stop_services)

# Playwright's sync API runs an event loop in the test thread; Django would refuse DB access there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from ebox.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "ebox.security.ClientSecretHasher"]

# Live-server threads must not keep connections open, or the test database cannot be dropped.
# A web server a test starts as production runs it (persistent connections) sets its own.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("EBOX_TEST_CONN_MAX_AGE", "0"))  # noqa: F405
# Django's test runner empties every table between transactional tests; the audit tables and the
# access log refuse TRUNCATE unless their trigger functions were created with the switch (only
# here) and the session turns it on (audit/append_only.py).
EBOX_AUDIT_TRUNCATE_SWITCH = True
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c ebox.audit_truncate_allowed=on"  # noqa: F405

# Attachment blobs stay files in the suite's tests (several tamper with a blob's file to prove
# the integrity checks); the PostgreSQL blob store (messages.blobs) has its own tests, which turn
# it on (tests/test_campaign.py), as production's default does (ebox/settings_blobs.py).
EBOX_DATABASE_BLOB_MAX_BYTES = int(os.environ.get("EBOX_TEST_DATABASE_BLOB_MAX_BYTES", "0"))
