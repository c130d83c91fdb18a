"""/healthz checks each dependency, against real Redis and DynamoDB endpoints on loopback.

Everyone gets ok/fail; the details need the HEALTHZ_TOKEN or a signed-in support staff member.
"""

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

TOKEN = "probe-token-0123456789"


@pytest.fixture
def dependencies_up(settings, redis_url, edge_table):
    settings.REDIS_URL = redis_url
    settings.HEALTHZ_TOKEN = TOKEN


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

    def test_it_is_not_redirected_to_https(self, client, dependencies_up, settings):
        settings.SECURE_SSL_REDIRECT = True
        assert client.get("/healthz").status_code == 200


class TestDetails:
    def test_support_staff_see_each_dependency(self, client, dependencies_up, support):
        client.force_login(support)
        checks = client.get("/healthz").json()["checks"]
        assert set(checks) == {"database", "redis", "dynamodb", "beat"}

    def test_the_token_shows_each_dependency(self, client, dependencies_up):
        checks = details(client)
        assert all(checks[name]["ok"] for name in ("database", "redis", "dynamodb"))
        assert checks["beat"]["last_tick"] is None and checks["beat"]["fresh"] is False

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
