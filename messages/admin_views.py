"""The operator view in the admin (staff only): the health of the platform at a glance.

Counts and metadata from `messages.operations`; never any message content.
"""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from messages import operations


@never_cache
def operations_view(request):
    context = {
        **admin.site.each_context(request),
        "title": _("Operations"),
        "backlog": operations.unsealed_backlog(),
        "queue_depth": operations.queue_depth(),
        "incidents": operations.integrity_incidents(),
        "notification_failures": operations.notification_failures(),
        "possible_duplicate_emails": operations.possible_duplicate_emails(),
        "campaigns": operations.campaign_progress(),
    }
    return render(request, "admin/ebox/operations.html", context)


# Staff only: the admin's own login check wraps the view (anonymous users go to the admin login).
operations_page = admin.site.admin_view(operations_view)
