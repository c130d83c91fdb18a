"""`/healthz`: is each thing the portal depends on answering?

Checks the database, Redis (the Celery broker), the DynamoDB endpoint and the
last beat tick. 200 when the first three answer, 503 otherwise; a beat that
has not ticked recently is reported but does not fail the probe, because the
portal still serves people without it.

Anyone gets only `{"ok": true|false}`. The details (each dependency, its
timing, its error, which table) are for support staff signed in, or for a
probe that sends `Authorization: Bearer <HEALTHZ_TOKEN>` (when that setting is
not empty): errors name hosts and endpoints the public has no business seeing.
"""

import hmac
import time
from datetime import timedelta

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
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
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
    }
    healthy = all(checks[name]["ok"] for name in ("database", "redis", "dynamodb"))
    body = {"ok": healthy, "checks": checks} if may_see_details(request) else {"ok": healthy}
    return JsonResponse(body, status=200 if healthy else 503)
