"""The public_pages app: pages anyone can read without logging in, and the statistics behind them."""

from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "public_pages"
    verbose_name = "Public pages"
