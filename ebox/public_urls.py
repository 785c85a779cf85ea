"""Public pages: the directory of sending organisations and the statistics."""

urlpatterns: list = []
