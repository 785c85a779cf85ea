from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SenderPortalConfig(AppConfig):
    name = "sender_portal"
    verbose_name = _("Sender portal")
