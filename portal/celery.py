"""The Celery application shared by the worker and beat."""

import logging
import os

from celery import Celery
from celery.signals import beat_init, celeryd_after_setup, task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("portal.celery")


def _connections() -> str:
    """Where this process connects, for its first log line (no passwords)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    where = (
        db.get("NAME")
        if "sqlite" in db["ENGINE"]
        else f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or ''}/{db.get('NAME')}"
    )
    return (
        f"broker={app.connection_for_write().as_uri(include_password=False)} "
        f"database={db['ENGINE'].rsplit('.', 1)[-1]}:{where} "
        f"dns_resolvers={','.join(settings.DNS_RESOLVERS) or 'system'} dns_port={settings.DNS_NAMESERVER_PORT}"
    )


@celeryd_after_setup.connect
def _log_worker_start(sender, **kwargs) -> None:
    logger.info("celery worker %s starting: %s", sender, _connections())


@beat_init.connect
def _log_beat_start(sender, **kwargs) -> None:
    logger.info("celery beat starting: %s scheduler=%s", _connections(), app.conf.beat_scheduler)


@task_postrun.connect
def _worker_heartbeat(sender=None, **kwargs) -> None:
    """A worker finished a task (whatever its outcome): /healthz reports the worker alive.

    Eager runs (tests, or a task called in the web process) are no worker's work."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from portal.health import record_worker_heartbeat  # Django's models are ready once tasks run, not at import

    record_worker_heartbeat()
