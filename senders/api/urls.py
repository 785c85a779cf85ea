"""The publication API (eBox REST API 2.1 for sender applications), reference data, our extensions, the docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from senders.api import publishing, reference_data, replies, searches
from senders.api import schema as _schema  # noqa: F401 - registers the OAuth scheme for the schema

urlpatterns = [
    path("publishMessage", publishing.PublishMessageView.as_view(), name="publish-message"),
    path("linkEboxMessage", publishing.LinkMessageView.as_view(), name="link-message"),
    path("searchMessageStatus", searches.SearchMessageStatusView.as_view(), name="search-message-status"),
    path("eboxPreferences/search", searches.EboxPreferencesSearchView.as_view(), name="ebox-preferences-search"),
    path("referenceData/messageTypes", reference_data.MessageTypesView.as_view(), name="message-types"),
    path(
        "referenceData/messageTypes/<str:messageTypeId>", reference_data.MessageTypeView.as_view(), name="message-type"
    ),
    path(
        "referenceData/senderApplications", reference_data.SenderApplicationsView.as_view(), name="sender-applications"
    ),
    path(
        "referenceData/senderApplications/<str:senderApplicationId>",
        reference_data.SenderApplicationView.as_view(),
        name="sender-application",
    ),
    path(
        "referenceData/senderOrganizations",
        reference_data.SenderOrganisationsView.as_view(),
        name="sender-organisations",
    ),
    path(
        "referenceData/senderOrganizations/<str:senderOrganizationId>",
        reference_data.SenderOrganisationView.as_view(),
        name="sender-organisation",
    ),
    path(
        "referenceData/senderOrganizations/<str:senderOrganizationId>/images/<str:imageId>/content",
        reference_data.SenderOrganisationImageView.as_view(),
        name="sender-organisation-image",
    ),
    path(
        "referenceData/senderApplications/<str:senderApplicationId>/images/<str:imageId>/content",
        reference_data.SenderApplicationImageView.as_view(),
        name="sender-application-image",
    ),
    path("extensions/publishMessages", publishing.BatchPublishView.as_view(), name="publish-messages"),
    path("extensions/replies", replies.RepliesView.as_view(), name="replies"),
    path(
        "extensions/replies/<uuid:replyId>/attachment",
        replies.ReplyAttachmentView.as_view(),
        name="reply-attachment",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
