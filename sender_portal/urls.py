"""The sender portal's URLs, under /sender/ (every view checks access with sender_portal.access)."""

from django.urls import path

from sender_portal import admin_views, campaign_views, follow_views, replies_views, sending_views, views

app_name = "sender_portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.switch_organisation, name="switch"),
    path("team/", views.team, name="team"),
    path("team/<int:role_id>/revoke/", views.revoke_role, name="revoke_role"),
    path("send/", sending_views.send, name="send"),
    path("send/recipient/", sending_views.recipient_check, name="recipient_check"),
    path("send/preview/", sending_views.preview, name="preview"),
    path("send/confirm/", sending_views.send_draft, name="send_draft"),
    path("letters/", follow_views.letter_list, name="letters"),
    path("letters/<uuid:message_id>/", follow_views.letter_detail, name="letter"),
    path("letters/<uuid:message_id>/evidence.json", follow_views.letter_evidence, name="evidence"),
    path("replies/", replies_views.reply_list, name="replies"),
    path("replies/<uuid:reply_id>/", replies_views.reply_detail, name="reply"),
    path("replies/<uuid:reply_id>/update/", replies_views.reply_update, name="reply_update"),
    path("campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/template.csv", campaign_views.campaign_template, name="campaign_template"),
    path("campaigns/<uuid:campaign_id>/", campaign_views.campaign_detail, name="campaign"),
    path("campaigns/<uuid:campaign_id>/progress.json", campaign_views.campaign_progress, name="campaign_progress"),
    path("campaigns/<uuid:campaign_id>/send/", campaign_views.campaign_send, name="campaign_send"),
    path("campaigns/<uuid:campaign_id>/cancel/", campaign_views.campaign_cancel, name="campaign_cancel"),
    path("campaigns/<uuid:campaign_id>/report.csv", campaign_views.campaign_report, name="campaign_report"),
    path("api-access/", admin_views.application_list, name="applications"),
    path("api-access/<int:application_id>/rotate/", admin_views.application_rotate, name="application_rotate"),
    path("api-access/<int:application_id>/callback/", admin_views.application_callback, name="application_callback"),
    path("api-access/<int:application_id>/revoke/", admin_views.application_revoke, name="application_revoke"),
]
