"""Consultation API routes (eBox 2.1 paths), mounted under /api/v2/."""

from django.urls import path

from citizens.api import receipt, views

urlpatterns = [
    path("ebox", views.EboxSummaryView.as_view(), name="ebox-summary"),
    path("ebox/messages", views.MessagesView.as_view(), name="ebox-messages"),
    path("ebox/messages/<str:message_id>", views.MessageView.as_view(), name="ebox-message"),
    path("ebox/messages/<str:message_id>/attachments", views.AttachmentsView.as_view(), name="ebox-attachments"),
    path(
        "ebox/messages/<str:message_id>/attachments/<str:attachment_id>",
        views.AttachmentView.as_view(),
        name="ebox-attachment",
    ),
    path(
        "ebox/messages/<str:message_id>/attachments/<str:attachment_id>/content",
        views.AttachmentContentView.as_view(),
        name="ebox-attachment-content",
    ),
    path("ebox/messages/<str:message_id>/body", views.BodyView.as_view(), name="ebox-body"),
    path(
        "ebox/messages/<str:message_id>/acknowledgement",
        receipt.AcknowledgementView.as_view(),
        name="ebox-acknowledgement",
    ),
    path("ebox/messages/<str:message_id>/paymentData", views.PaymentDataView.as_view(), name="ebox-payment"),
]
