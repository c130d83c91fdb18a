"""/healthz reports a worker alive once a real Celery worker (over real Redis) has finished a task."""

import time

import pytest
import redis

from portal import health

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TOKEN = "probe-token-0123456789"


def test_healthz_shows_a_fresh_worker_once_the_worker_has_run_a_task(celery_worker, redis_url, settings, client):
    settings.REDIS_URL = redis_url  # the worker's broker, where it leaves its heartbeat
    settings.HEALTHZ_TOKEN = TOKEN
    redis.Redis.from_url(redis_url).delete(health.WORKER_HEARTBEAT_KEY)  # only what happens from now on counts

    deadline = time.monotonic() + 20  # beat dispatches every second; a worker writes at most every 5 s
    worker = {}
    while time.monotonic() < deadline and not worker.get("fresh"):
        time.sleep(0.5)
        worker = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()["checks"]["worker"]

    assert worker["fresh"] is True and worker["last_task"], celery_worker.log_tail()
