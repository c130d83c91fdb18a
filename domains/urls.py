"""The tenant web UI's URLs."""

app_name = "domains"
urlpatterns: list = []
