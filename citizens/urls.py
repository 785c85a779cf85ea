"""The citizen portal: inbox, message pages, activation, settings."""

urlpatterns: list = []
