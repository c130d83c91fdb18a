"""Per-key rate limits: one bucket per API key (per user for sessions, per address otherwise)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from workspaces.models import ApiKey


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        # Read at request time, so a changed setting (tests, reloads) applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def applies(self, request) -> bool:
        return True

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


class ApiWriteRateThrottle(ApiRateThrottle):
    """A tighter bucket for writes (add, delete, check, retry)."""

    scope = "api_writes"

    def applies(self, request) -> bool:
        return request.method not in ("GET", "HEAD", "OPTIONS")
