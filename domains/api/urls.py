"""The integrations API's URLs, mounted under /api/v1/."""

urlpatterns: list = []
