"""The workspace's API keys page, mounted at /workspace/api-keys/."""

from django.urls import path

from workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.api_keys, name="api_keys"),
    path("<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
