"""The publication API (eBox REST API 2.1 for sender applications), reference data, our extensions, the docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from senders.api import replies, views
from senders.api import schema as _schema  # noqa: F401 - registers the OAuth scheme for the schema

urlpatterns = [
    path("publishMessage", views.PublishMessageView.as_view(), name="publish-message"),
    path("linkEboxMessage", views.LinkMessageView.as_view(), name="link-message"),
    path("searchMessageStatus", views.SearchMessageStatusView.as_view(), name="search-message-status"),
    path("eboxPreferences/search", views.EboxPreferencesSearchView.as_view(), name="ebox-preferences-search"),
    path("referenceData/messageTypes", views.MessageTypesView.as_view(), name="message-types"),
    path("referenceData/messageTypes/<str:messageTypeId>", views.MessageTypeView.as_view(), name="message-type"),
    path("referenceData/senderApplications", views.SenderApplicationsView.as_view(), name="sender-applications"),
    path(
        "referenceData/senderApplications/<str:senderApplicationId>",
        views.SenderApplicationView.as_view(),
        name="sender-application",
    ),
    path("referenceData/senderOrganizations", views.SenderOrganisationsView.as_view(), name="sender-organisations"),
    path(
        "referenceData/senderOrganizations/<str:senderOrganizationId>",
        views.SenderOrganisationView.as_view(),
        name="sender-organisation",
    ),
    path("extensions/publishMessages", views.BatchPublishView.as_view(), name="publish-messages"),
    path("extensions/replies", replies.RepliesView.as_view(), name="replies"),
    path(
        "extensions/replies/<uuid:replyId>/attachment",
        replies.ReplyAttachmentView.as_view(),
        name="reply-attachment",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
