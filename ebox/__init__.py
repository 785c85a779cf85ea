"""eBox: the project package (settings, URLs, Celery app, embedded services, public pages, audit log)."""

from ebox.celery import app as celery_app

__all__ = ["celery_app"]
