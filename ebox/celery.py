"""The Celery app. Tasks are thin wrappers over services; PostgreSQL holds the pending work."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ebox.settings")

app = Celery("ebox")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="ebox.ping", ignore_result=False)
def ping(value: str) -> str:
    """A round trip through the broker, for health checks and the worker test."""
    return f"pong:{value}"
