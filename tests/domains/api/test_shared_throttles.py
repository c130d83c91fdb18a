"""The API's throttles count in the shared cache (Redis), so a limit holds across processes.

Uses the real redis-server fixture, on a database number of its own that each
test empties first. The processes are real: `python -c` with the portal's
settings read from the environment, as a web worker would start.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.test import override_settings

from tests.domains.api.conftest import error_of

ROOT = Path(__file__).resolve().parents[3]
URL = "/api/v1/domains/"
SPEND = """
import json, sys, time, django
django.setup()
from domains.api.throttles import ApiRateThrottle
from workspaces.models import ApiKey

class Request:  # what the throttle reads of an API request made with key number argv[1]
    method = "GET"
    auth = ApiKey(pk=int(sys.argv[1]))
    user = None
    META = {"REMOTE_ADDR": "127.0.0.1"}

start_at = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
while time.time() < start_at:  # racing processes all start asking at once
    time.sleep(0.001)
print(json.dumps([ApiRateThrottle().allow_request(Request(), None) for _ in range(int(sys.argv[2]))]))
"""


# Per-day limits: a test spans seconds of process start-ups, and a fixed window that turned over
# between its requests (a per-minute one did, on a loaded CI machine) would reset the count it asserts.
RATE = "3/day"
DAY = 86400


@pytest.fixture
def throttle_redis(redis_url) -> str:
    url = redis_url.rsplit("/", 1)[0] + "/7"
    redis.Redis.from_url(url).flushdb()
    left_today = DAY - time.time() % DAY
    if left_today < 120:  # this test would straddle midnight UTC: start in the next window
        time.sleep(left_today + 0.1)
    return url


def spender(key_pk: int, requests: int, *, redis_url: str, rate: str, start_at: float = 0.0) -> subprocess.Popen:
    """Another process, configured as production is (REDIS_URL, no CACHE_URL), asking its throttle `requests` times."""
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "REDIS_URL")}
    env.update(DEBUG="true", REDIS_URL=redis_url, API_THROTTLE_RATE=rate, DJANGO_SETTINGS_MODULE="portal.settings")
    return subprocess.Popen(
        [sys.executable, "-c", SPEND, str(key_pk), str(requests), str(start_at)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answers(process: subprocess.Popen) -> list[bool]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def spend(key_pk: int, requests: int, *, redis_url: str, rate: str = RATE) -> list[bool]:
    return answers(spender(key_pk, requests, redis_url=redis_url, rate=rate))


@pytest.mark.slow
def test_two_processes_share_one_bucket(throttle_redis):
    assert spend(41, 2, redis_url=throttle_redis) == [True, True]
    assert spend(41, 2, redis_url=throttle_redis) == [True, False]
    assert spend(42, 1, redis_url=throttle_redis) == [True]  # another key, another bucket


def redis_cache(url: str, **options) -> dict:
    """CACHES as portal.settings builds them from a redis:// CACHE_URL (override_settings, so the conftest's
    cache.clear() afterwards empties the tests' in-process cache, not this Redis)."""
    cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "portal"}
    return {"default": {**cache, "OPTIONS": options}}


@pytest.mark.slow
def test_processes_racing_for_one_bucket_get_exactly_its_allowance(throttle_redis):
    start_at = time.time() + 4  # after every process has set Django up
    racers = [spender(43, 10, redis_url=throttle_redis, rate="12/day", start_at=start_at) for _ in range(4)]
    allowed = sum(sum(answers(process)) for process in racers)
    assert allowed == 12


@pytest.fixture
def api_on_shared_redis(settings, throttle_redis):
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": RATE, "api_writes": RATE}}
    with override_settings(CACHES=redis_cache(throttle_redis), REST_FRAMEWORK=rates):
        yield throttle_redis


@pytest.mark.slow
def test_the_api_refuses_what_another_process_already_spent(as_alice, alice_key, api_on_shared_redis):
    from workspaces.models import ApiKey

    key = ApiKey.objects.get(key_id=alice_key.split("_")[1])
    assert as_alice.get(URL).status_code == 200

    assert spend(key.pk, 3, redis_url=api_on_shared_redis) == [True, True, False]

    response = as_alice.get(URL)
    assert response.status_code == 429 and error_of(response)["code"] == "rate_limited"


def test_a_redis_that_is_down_lets_requests_through(as_alice, caplog):
    with override_settings(CACHES=redis_cache("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)):
        response = as_alice.get(URL)
    assert response.status_code == 200
    assert "throttle cache unavailable" in caplog.text
