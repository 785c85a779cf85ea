"""Top-level URLs. Each app owns its own URL module."""

from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

from ebox import views
from messages import views as message_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path(".well-known/jwks.json", message_views.jwks, name="jwks"),
    # OAuth 2 authorisation server (django-oauth-toolkit): token, revoke_token, introspect…
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # RFC 8414 wants the metadata at the origin's root, not under /o/.
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_metadata"))),
    path("api/v2/", include("senders.api.urls")),
    path("api/v2/", include("citizens.api.urls")),
    path("", include("citizens.urls")),
    path("", include("ebox.public_urls")),
]
