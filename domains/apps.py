from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # admin_workspace: the Workspace admin page with its domains (workspaces
        # imports nothing from domains, so this app extends its admin).
        # tasks: registered in every process (web included), so services can
        # queue them by name without importing the tasks module themselves.
        from domains import admin_workspace, tasks  # noqa: F401
