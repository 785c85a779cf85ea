from django.apps import AppConfig


class EboxConfig(AppConfig):
    name = "ebox"
    verbose_name = "eBox"
