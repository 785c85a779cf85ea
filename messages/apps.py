from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    # `messages` is taken by django.contrib.messages: our label is `mailbox`.
    name = "messages"
    label = "mailbox"
    verbose_name = _("Messages")
