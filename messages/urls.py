"""API extensions of the messages app, mounted under /api/v2/."""

from django.urls import path

from messages import api

urlpatterns = [
    path(
        "extensions/messages/<uuid:messageId>/evidence",
        api.MessageEvidenceView.as_view(),
        name="message-evidence",
    ),
]
