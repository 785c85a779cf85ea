"""Top-level URLs. Each app owns its own URL module."""

from django.contrib import admin
from django.urls import include, path

from ebox import views
from messages import views as message_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path(".well-known/jwks.json", message_views.jwks, name="jwks"),
    path("api/v2/", include("senders.api.urls")),
    path("api/v2/", include("citizens.api.urls")),
    path("dev/mail/", include("ebox.devmail")),  # 404 unless DEBUG or EBOX_DEV_MAIL_VIEW
    path("", include("citizens.urls")),
    path("", include("ebox.public_urls")),
]
