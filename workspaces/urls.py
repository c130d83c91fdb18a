"""The workspace pages, mounted at /workspace/: the switcher and the API keys page."""

from django.urls import path

from workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.workspace_switch, name="switch"),
    path("about/", views.workspace_detail, name="detail"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
