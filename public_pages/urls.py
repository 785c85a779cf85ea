"""Public pages: the directory of sending organisations and the statistics (the home page is in ebox.urls)."""

from django.urls import path

from public_pages import views as public_views

app_name = "public"

urlpatterns = [
    path("organisations/", public_views.organisations, name="organisations"),
    path("organisations.json", public_views.organisations_json, name="organisations-json"),
    path("organisations/<str:enterprise_number>/logo", public_views.organisation_logo, name="organisation-logo"),
    path("statistics/", public_views.statistics, name="statistics"),
]
