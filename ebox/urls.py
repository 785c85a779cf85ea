"""Top-level URLs. Each app owns its own URL module; this is the one module of ebox that imports apps."""

from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls
from oauth2_provider import views as oauth2_views

from audit import views as audit_views
from citizens import partner_views
from ebox import security, views
from federation.api import urls as federation_urls
from messages import admin_views
from messages import views as message_views
from public_pages import views as public_views

oauth2_endpoints = [
    # The metadata (RFC 8414) names this one as the authorization endpoint.
    path("authorize/", partner_views.ConsentView.as_view(), name="authorize"),
    path("token/", oauth2_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", security.IntrospectView.as_view(), name="introspect"),
]

urlpatterns = [
    path("", public_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # The API first: the most requested URLs, resolved without trying the portal's patterns.
    path("api/v2/", include("senders.api.urls")),
    path("api/v2/", include("citizens.api.urls")),
    path("api/v2/", include("messages.urls")),
    path("api/federation/v1/", include(federation_urls.federation_urlpatterns)),
    path("api/events/v1/", include(federation_urls.event_urlpatterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/operations/", admin_views.operations_page, name="admin-operations"),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    # The consent page partner apps send citizens to.
    path("o/authorize/", partner_views.ConsentView.as_view(), name="authorize"),
    path("settings/apps/", partner_views.grants, name="partner-grants"),
    path("settings/apps/<int:grant_id>/revoke", partner_views.revoke_grant, name="partner-grant-revoke"),
    # OAuth 2 authorisation server (django-oauth-toolkit): only what clients need. No application
    # registration or token management pages (operators register clients in the admin), no device
    # flow; introspection only for the client ids in EBOX_INTROSPECTION_CLIENT_IDS.
    path("o/", include((oauth2_endpoints, "oauth2_provider"))),
    path(".well-known/jwks.json", message_views.jwks, name="jwks"),
    path(".well-known/audit-checkpoints.json", audit_views.checkpoints, name="audit-checkpoints"),
    # RFC 8414 wants the metadata at the origin's root, not under /o/.
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_metadata"))),
    path("inbox/<uuid:message_id>/evidence.json", message_views.citizen_evidence, name="citizen-evidence"),
    path("sender/", include("sender_portal.urls")),
    path("dev/mail/", include("demo.devmail")),  # 404 unless DEBUG or EBOX_DEV_MAIL_VIEW; staff only
    path("", include("citizens.urls")),
    path("", include("mandates.urls")),
    path("", include("public_pages.urls")),
]

# Unknown URLs under /api/ answer with a StatusMessage, like every other API error.
handler404 = "public_pages.views.not_found"
