"""/healthz reports each dependency, against real Redis and DynamoDB endpoints on loopback."""

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def dependencies_up(settings, redis_url, edge_table):
    settings.REDIS_URL = redis_url


def test_it_answers_200_when_the_database_redis_and_dynamodb_answer(client, dependencies_up):
    response = client.get("/healthz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert all(checks[name]["ok"] for name in ("database", "redis", "dynamodb"))
    assert checks["beat"]["last_tick"] is None and checks["beat"]["fresh"] is False


def test_it_answers_503_and_names_the_dependency_that_is_down(client, dependencies_up, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False and "Connection" in checks["redis"]["error"]
    assert checks["database"]["ok"] and checks["dynamodb"]["ok"]


def test_a_missing_edge_table_is_reported(client, dependencies_up, settings):
    settings.DYNAMODB_TABLE = "no-such-table"

    checks = client.get("/healthz").json()["checks"]

    assert checks["dynamodb"]["ok"] is False and "no-such-table" in checks["dynamodb"]["error"]


def test_it_reports_when_beat_last_ticked(client, dependencies_up):
    every_five = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="dispatch", task="domains.dispatch_due_checks", interval=every_five, last_run_at=timezone.now()
    )

    beat = client.get("/healthz").json()["checks"]["beat"]

    assert beat["fresh"] is True and beat["last_tick"]
