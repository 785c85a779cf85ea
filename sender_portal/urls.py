"""The sender portal's URLs, under /sender/ (every view checks access with sender_portal.access)."""

from django.urls import path

from sender_portal import views

app_name = "sender_portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.switch_organisation, name="switch"),
    path("team/", views.team, name="team"),
    path("team/<int:role_id>/revoke/", views.revoke_role, name="revoke_role"),
]
