from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # receivers: the outbox is written from domains.signals.domain_changed in
        # the change's own transaction; tasks: registered in every process.
        from notifications import receivers, tasks  # noqa: F401
