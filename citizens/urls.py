"""The citizen portal: inbox, message pages, activation, settings."""

from django.urls import path

from citizens import receipt_views, views

app_name = "citizens"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<uuid:message_id>/", views.message_detail, name="message"),
    path(
        "inbox/<uuid:message_id>/attachments/<uuid:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("inbox/<uuid:message_id>/visibility/", views.message_visibility, name="visibility"),
    path("inbox/<uuid:message_id>/reply/", views.message_reply, name="reply"),
    path("inbox/<uuid:message_id>/acknowledgement/", receipt_views.acknowledge, name="acknowledgement"),
    path("inbox/logos/<int:organisation_id>/", views.organisation_logo, name="logo"),
    path("activate/", views.activate, name="activate"),
    path("activate/deactivate/", views.deactivate, name="deactivate"),
    path("activate/resend/", views.resend_verification, name="resend_verification"),
    path("verify-email/<str:token>/", views.verify_email, name="verify_email"),
    path("settings/", views.settings_page, name="settings"),
    path("language/", views.set_language, name="set_language"),
    path("logged-out/", views.logged_out, name="logged_out"),
]
