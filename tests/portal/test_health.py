"""/healthz checks each dependency, against real Redis and DynamoDB endpoints on loopback.

Everyone gets ok/fail; the details need the HEALTHZ_TOKEN or a signed-in support staff member.
"""

from datetime import datetime, timedelta

import pytest
import redis
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from portal import health
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db

TOKEN = "probe-token-0123456789"


@pytest.fixture
def dependencies_up(settings, redis_url, edge_table, monkeypatch):
    settings.REDIS_URL = redis_url
    settings.HEALTHZ_TOKEN = TOKEN
    monkeypatch.setattr(health, "_last_heartbeat_write", float("-inf"))  # each test starts a fresh process's memory
    heartbeat().delete(health.WORKER_HEARTBEAT_KEY)  # the Redis server is shared by the session


def heartbeat() -> redis.Redis:
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


@celery_app.task(name="tests.portal.nothing")
def nothing() -> None:
    pass


def details(client) -> dict:
    response = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    return response.json()["checks"]


class TestWhatEveryoneSees:
    def test_only_ok_when_the_dependencies_answer(self, client, dependencies_up):
        response = client.get("/healthz")
        assert response.status_code == 200 and response.json() == {"ok": True}

    def test_only_fail_when_one_does_not(self, client, dependencies_up, settings):
        settings.REDIS_URL = "redis://127.0.0.1:9/0"
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json() == {"ok": False}

    @pytest.mark.parametrize("authorization", ["Bearer wrong-token", "Bearer ", TOKEN, f"Bearer {TOKEN}x"])
    def test_a_wrong_token_sees_no_more(self, client, dependencies_up, authorization):
        assert client.get("/healthz", headers={"Authorization": authorization}).json() == {"ok": True}

    def test_an_empty_token_setting_opens_nothing(self, client, dependencies_up, settings):
        settings.HEALTHZ_TOKEN = ""
        assert client.get("/healthz", headers={"Authorization": "Bearer "}).json() == {"ok": True}

    def test_a_signed_in_tenant_sees_no_more(self, client, dependencies_up, alice):
        client.force_login(alice)
        assert client.get("/healthz").json() == {"ok": True}

    def test_a_worker_that_has_not_run_a_task_for_long_does_not_fail_it(self, client, dependencies_up):
        heartbeat().set(health.WORKER_HEARTBEAT_KEY, (timezone.now() - timedelta(hours=1)).isoformat())
        response = client.get("/healthz")
        assert response.status_code == 200 and response.json() == {"ok": True}

    def test_it_is_not_redirected_to_https(self, client, dependencies_up, settings):
        settings.SECURE_SSL_REDIRECT = True
        assert client.get("/healthz").status_code == 200


class TestDetails:
    def test_support_staff_see_each_dependency(self, client, dependencies_up, support):
        client.force_login(support)
        checks = client.get("/healthz").json()["checks"]
        assert set(checks) == {"database", "redis", "dynamodb", "beat", "worker"}

    def test_the_token_shows_each_dependency(self, client, dependencies_up):
        checks = details(client)
        assert all(checks[name]["ok"] for name in ("database", "redis", "dynamodb"))
        assert checks["beat"]["last_tick"] is None and checks["beat"]["fresh"] is False
        assert checks["worker"]["last_task"] is None and checks["worker"]["fresh"] is False

    def test_they_name_the_dependency_that_is_down(self, client, dependencies_up, settings):
        settings.REDIS_URL = "redis://127.0.0.1:9/0"
        response = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["redis"]["ok"] is False and "Connection" in checks["redis"]["error"]
        assert checks["database"]["ok"] and checks["dynamodb"]["ok"]

    def test_a_missing_edge_table_is_reported(self, client, dependencies_up, settings):
        settings.DYNAMODB_TABLE = "no-such-table"
        checks = details(client)
        assert checks["dynamodb"]["ok"] is False and "no-such-table" in checks["dynamodb"]["error"]

    def test_when_beat_last_ticked(self, client, dependencies_up):
        every_five = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(
            name="dispatch", task="domains.dispatch_due_checks", interval=every_five, last_run_at=timezone.now()
        )
        beat = details(client)["beat"]
        assert beat["fresh"] is True and beat["last_tick"]


class TestWorkerHeartbeat:
    def test_a_worker_that_just_finished_a_task_is_fresh(self, client, dependencies_up):
        before = timezone.now()
        health.record_worker_heartbeat()
        worker = details(client)["worker"]
        assert worker["fresh"] is True
        assert before <= datetime.fromisoformat(worker["last_task"]) <= timezone.now()

    def test_a_worker_silent_for_longer_than_the_limit_is_stale(self, client, dependencies_up):
        long_ago = timezone.now() - health.WORKER_STALE_AFTER - timedelta(seconds=1)
        heartbeat().set(health.WORKER_HEARTBEAT_KEY, long_ago.isoformat())
        worker = details(client)["worker"]
        assert worker == {"ok": True, "ms": worker["ms"], "last_task": long_ago.isoformat(), "fresh": False}

    def test_a_process_writes_it_at_most_once_every_few_seconds(self, dependencies_up):
        health.record_worker_heartbeat()
        heartbeat().set(health.WORKER_HEARTBEAT_KEY, "written-before")
        health.record_worker_heartbeat()
        assert heartbeat().get(health.WORKER_HEARTBEAT_KEY) == b"written-before"

    def test_a_redis_that_is_down_never_fails_the_task(self, dependencies_up, settings):
        settings.REDIS_URL = "redis://127.0.0.1:9/0"
        health.record_worker_heartbeat()  # does not raise

    def test_a_task_run_in_place_is_no_worker_at_work(self, dependencies_up):
        nothing.apply()
        assert heartbeat().get(health.WORKER_HEARTBEAT_KEY) is None
