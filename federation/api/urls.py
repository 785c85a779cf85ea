"""Routes of federation 1.3 (mounted at /api/federation/v1/) and of the enterprise event API 1.1.1
(mounted at /api/events/v1/)."""

from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from federation.api import documentation, events, views

federation_urlpatterns = [
    path("api", documentation.LinksView.as_view(), name="federation-links"),
    path("api/doc", SpectacularSwaggerSplitView.as_view(url_name="federation-swagger"), name="federation-doc"),
    path("api/doc/swagger.json", documentation.SwaggerView.as_view(), name="federation-swagger"),
    path("api/doc/jsonSchemas/<path:json_schema>", documentation.JsonSchemaView.as_view(), name="federation-schema"),
    path("eboxPreferences/search", views.PreferencesSearchView.as_view(), name="federation-preferences-search"),
    path("eboxPreferences", views.EboxPreferencesView.as_view(), name="federation-preferences"),
    path("messageProviders", views.MessageProvidersView.as_view(), name="federation-providers"),
    path("messageProviders/<str:provider_id>", views.MessageProviderView.as_view(), name="federation-provider"),
]

event_urlpatterns = [
    path("ebox/enterprise/document/events", events.DocumentEventsView.as_view(), name="enterprise-document-events"),
]
