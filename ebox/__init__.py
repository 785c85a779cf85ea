"""eBox: the project package. Configuration (settings, URLs, Celery app, WSGI/ASGI) and the
infrastructure every app uses (db, embedded services, dispatch, keys, i18n, identifiers, middleware,
OAuth scopes, PDF and canonical-JSON helpers). Apps import ebox; nothing in ebox imports an app,
except the root URLconf (ebox.urls) and the dotted paths in settings.
"""

from ebox.celery import app as celery_app

__all__ = ["celery_app"]
