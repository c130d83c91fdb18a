from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Workspace admin page with its domains: workspaces cannot list them
        # itself (it imports nothing from domains), so this app extends its admin.
        from domains import admin_workspace  # noqa: F401

        # Register the tasks in every process (web included), so services can
        # queue them by name without importing the tasks module themselves.
        from domains import tasks  # noqa: F401
