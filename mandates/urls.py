"""The portal's mandate pages and the mailbox switcher."""

from django.urls import path

from mandates import views

app_name = "mandates"

urlpatterns = [
    path("mailbox/", views.switch_mailbox, name="switch"),
    path("mandates/", views.mandates_page, name="list"),
    path("mandates/grant/", views.grant, name="grant"),
    path("mandates/<int:mandate_id>/revoke/", views.revoke, name="revoke"),
]
