"""Per-key rate limits: one bucket per API key (per user for sessions, per address otherwise).

The buckets live in the shared cache (Redis in production, settings.CACHES),
so a limit holds across every web process. Counting is one atomic increment
per request (Redis INCR) in a fixed window of the rate's period, not DRF's
read-modify-write of a request log, so processes racing for the same bucket
cannot all slip through. A refused request is taken back out, so it does not
count; Retry-After is the rest of the window. (A fixed window lets a client
spend one window's allowance at its end and the next one's at the start.)

A cache that does not answer lets requests through and logs it: the API stays
up while Redis is down, and sign-in limits (django-axes) count in the
database.
"""

import logging
import math
import time

from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from portal.clients import client_address
from workspaces.models import ApiKey

logger = logging.getLogger(__name__)


def _increment(cache, key: str, timeout: float) -> int:
    """Add one to the counter at `key`, creating it (with `timeout`) if it does not exist; atomic."""
    for _ in range(3):
        cache.add(key, 0, timeout=math.ceil(timeout))
        try:
            return cache.incr(key)
        except ValueError:  # it expired between add and incr
            continue
    raise RuntimeError(f"could not count in {key}")


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        # Read at request time, so a changed setting (tests, reloads) applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def applies(self, request) -> bool:
        return True

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view):
        if not self.applies(request):
            return None
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            return self._count(time.time())
        except (RedisError, OSError) as error:
            logger.error("throttle cache unavailable, request let through scope=%s error=%s", self.scope, error)
            return True

    def _count(self, now: float) -> bool:
        window, into = divmod(now, self.duration)
        key = f"{self.key}:{int(window)}"
        if _increment(self.cache, key, timeout=self.duration) <= self.num_requests:
            return True
        self.cache.decr(key)  # a refused request does not count
        self._wait = self.duration - into
        return False

    def wait(self):
        return max(getattr(self, "_wait", self.duration), 1)


class ApiWriteRateThrottle(ApiRateThrottle):
    """A tighter bucket for writes (add, delete, check, retry)."""

    scope = "api_writes"

    def applies(self, request) -> bool:
        return request.method not in ("GET", "HEAD", "OPTIONS")
