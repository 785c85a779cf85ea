"""The portal's mandate pages and the mailbox switcher."""

from django.urls import path

from mandates import client_views, views

app_name = "mandates"

urlpatterns = [
    path("mailbox/", views.switch_mailbox, name="switch"),
    path("mandates/", views.mandates_page, name="list"),
    path("mandates/grant/", views.grant, name="grant"),
    path("mandates/<int:mandate_id>/revoke/", views.revoke, name="revoke"),
    path("api-clients/", client_views.client_list, name="api_clients"),
    path("api-clients/<int:client_pk>/rotate/", client_views.client_rotate, name="api_client_rotate"),
    path("api-clients/<int:client_pk>/revoke/", client_views.client_revoke, name="api_client_revoke"),
]
