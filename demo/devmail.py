"""The development mail view: the e-mails the local SMTP sink (`manage.py mail_sink`) wrote.

Served only when DEBUG or EBOX_DEV_MAIL_VIEW is true (`make run` sets the latter); a 404 otherwise,
so a production deployment never exposes it; staff only even then. Files are read from <EBOX_DATA_DIR>/mail/.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

_NAME = re.compile(r"^[0-9]+-[0-9a-f]+\.eml$")
_LIMIT = 200


def _enabled(view):
    """404 when disabled; staff only even in development (the e-mails name citizens)."""
    staff_view = staff_member_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (settings.DEBUG or settings.EBOX_DEV_MAIL_VIEW):
            raise Http404("The development mail view is disabled.")
        return staff_view(request, *args, **kwargs)

    return wrapper


def mail_folder() -> Path:
    return Path(settings.DATA_DIR) / "mail"


def _file(name: str) -> Path:
    if not _NAME.match(name):
        raise Http404("No such e-mail.")
    file = mail_folder() / name
    if not file.is_file():
        raise Http404("No such e-mail.")
    return file


@require_GET
@_enabled
def mail_list(request):
    folder = mail_folder()
    names = (
        sorted((p.name for p in folder.glob("*.eml") if _NAME.match(p.name)), reverse=True) if folder.is_dir() else []
    )
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    rows = []
    for name in names[:_LIMIT]:
        with open(folder / name, "rb") as handle:
            headers = parser.parse(handle)
        rows.append({"name": name, "to": headers["To"], "subject": headers["Subject"], "date": headers["Date"]})
    return render(request, "dev/mail_list.html", {"rows": rows, "total": len(names), "folder": folder})


@require_GET
@_enabled
def mail_detail(request, name: str):
    message = email.message_from_bytes(_file(name).read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return render(
        request,
        "dev/mail_detail.html",
        {
            "name": name,
            "headers": list(message.items()),
            "subject": message["Subject"],
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        },
    )


@require_GET
@_enabled
def mail_raw(request, name: str):
    return FileResponse(open(_file(name), "rb"), content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("", mail_list, name="dev_mail_list"),
    path("<str:name>/", mail_detail, name="dev_mail_detail"),
    path("<str:name>/raw", mail_raw, name="dev_mail_raw"),
]
