"""`/healthz`: is each thing the portal depends on answering?

Checks the database, Redis (the Celery broker), the DynamoDB endpoint, the
last beat tick and the last task a Celery worker finished. 200 when the first
three answer, 503 otherwise; a beat that has not ticked recently, or no worker
having finished a task recently, is reported but does not fail the probe,
because the portal still serves people without them (domains just stop
verifying). Beat's dispatcher sends a task every few seconds, so on a healthy
system both stay fresh even when nobody is using the portal.

Workers leave their heartbeat with `record_worker_heartbeat` (connected to
`task_postrun` in portal/celery.py): one Redis SET at most every
WORKER_HEARTBEAT_EVERY seconds per process, never failing the task.

Anyone gets only `{"ok": true|false}`. The details (each dependency, its
timing, its error, which table) are for support staff signed in, or for a
probe that sends `Authorization: Bearer <HEALTHZ_TOKEN>` (when that setting is
not empty): errors name hosts and endpoints the public has no business seeing.
"""

import hmac
import logging
import time
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_celery_beat.models import PeriodicTask

from domains.edge import store as edge_store
from workspaces.roles import is_support_staff

BEAT_STALE_AFTER = timedelta(minutes=2)
WORKER_STALE_AFTER = timedelta(minutes=2)
WORKER_HEARTBEAT_KEY = "health:worker:last_task"
WORKER_HEARTBEAT_EVERY = 5.0  # seconds: far below WORKER_STALE_AFTER, so one write per many tasks

logger = logging.getLogger(__name__)
_last_heartbeat_write = float("-inf")  # this process's last write (time.monotonic())


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def record_worker_heartbeat() -> None:
    """Record in Redis that a worker has just finished a task, unless this process did so moments ago.

    Never raises: a heartbeat that cannot be written must not fail the task it follows."""
    global _last_heartbeat_write
    now = time.monotonic()
    if now - _last_heartbeat_write < WORKER_HEARTBEAT_EVERY:
        return
    _last_heartbeat_write = now  # also after a failure: a Redis that is down is not asked after every task
    try:
        client = _redis_client()
        try:
            client.set(WORKER_HEARTBEAT_KEY, timezone.now().isoformat())
        finally:
            client.close()
    except Exception as error:
        logger.debug("worker heartbeat not recorded: %s: %s", type(error).__name__, error)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as error:  # a probe reports every failure; it never raises
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _redis() -> dict:
    client = _redis_client()
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _dynamodb() -> dict:
    table = edge_store.describe_table()
    if table is None:
        raise LookupError(f"table {settings.DYNAMODB_TABLE} does not exist")
    return {"table": table.name, "status": table.status}


def _beat() -> dict:
    last = (
        PeriodicTask.objects.exclude(last_run_at=None)
        .order_by("-last_run_at")
        .values_list("last_run_at", flat=True)
        .first()
    )
    fresh = last is not None and timezone.now() - last < BEAT_STALE_AFTER
    return {"last_tick": last.isoformat() if last else None, "fresh": fresh}


def _worker() -> dict:
    client = _redis_client()
    try:
        stored = client.get(WORKER_HEARTBEAT_KEY)
    finally:
        client.close()
    last = datetime.fromisoformat(stored.decode()) if stored else None
    fresh = last is not None and timezone.now() - last < WORKER_STALE_AFTER
    return {"last_task": last.isoformat() if last else None, "fresh": fresh}


def may_see_details(request) -> bool:
    """A probe with the HEALTHZ_TOKEN, or support staff signed in (never raises: the database may be down)."""
    token = settings.HEALTHZ_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        return is_support_staff(request.user, permission="domains.view_domain")
    except Exception:  # no session store, no user: the public answer
        return False


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _timed(_database),
        "redis": _timed(_redis),
        "dynamodb": _timed(_dynamodb),
        "beat": _timed(_beat),
        "worker": _timed(_worker),
    }
    healthy = all(checks[name]["ok"] for name in ("database", "redis", "dynamodb"))
    body = {"ok": healthy, "checks": checks} if may_see_details(request) else {"ok": healthy}
    return JsonResponse(body, status=200 if healthy else 503)
