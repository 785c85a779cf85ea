from django.apps import AppConfig


class MailboxConfig(AppConfig):
    # `messages` is taken by django.contrib.messages: our label is `mailbox`.
    name = "messages"
    label = "mailbox"
    verbose_name = "Messages"
