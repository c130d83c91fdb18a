"""The module-level lookup cache of the edge function.

One container answers one request at a time and lives for minutes to hours,
so a plain ordered dict is enough: entries are ``(workspace_id, fresh_until,
stale_until)`` tuples (``workspace_id`` is None for a known-unservable host),
kept in least-recently-used order. Expiry is jittered downwards so that
containers warmed together do not all go back to DynamoDB in the same second,
and the configured TTL stays an upper bound. Expired entries are kept (until
evicted or past the stale-if-error window) so an outage can still be served.
"""

from __future__ import annotations

import random
from collections import OrderedDict

WORKSPACE = 0
FRESH_UNTIL = 1
STALE_UNTIL = 2


class EdgeCache:
    __slots__ = (
        "_data",
        "_jitter",
        "_max_entries",
        "_negative_ttl",
        "_positive_ttl",
        "_random",
        "_stale_window",
        "evictions",
        "hits",
        "misses",
        "negative_hits",
        "peek",
        "stale_serves",
        "touch",
    )

    def __init__(
        self,
        *,
        max_entries: int = 50_000,
        positive_ttl: float = 300.0,
        negative_ttl: float = 30.0,
        jitter: float = 0.1,
        stale_window: float = 6 * 3600.0,
        rng: random.Random | None = None,
    ) -> None:
        self._data: OrderedDict[str, tuple] = OrderedDict()
        # The handler's warm path inlines ``get`` with these two C-level methods:
        # peek(host) -> entry or None (fresh or not), touch(host) marks it recent.
        self.peek = self._data.get
        self.touch = self._data.move_to_end
        self._max_entries = max_entries
        self._positive_ttl = positive_ttl
        self._negative_ttl = negative_ttl
        self._jitter = jitter
        self._stale_window = stale_window
        self._random = (rng or random.Random()).random
        self.hits = 0
        self.negative_hits = 0
        self.misses = 0
        self.stale_serves = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, host: str) -> bool:
        return host in self._data

    def get(self, host: str, now: float) -> tuple | None:
        """The fresh entry for ``host``, or None (a miss: go and ask DynamoDB)."""
        entry = self._data.get(host)
        if entry is not None and now < entry[1]:
            self._data.move_to_end(host)
            if entry[0] is None:
                self.negative_hits += 1
            else:
                self.hits += 1
            return entry
        self.misses += 1
        return None

    def stale(self, host: str, now: float) -> tuple | None:
        """An expired entry still inside the stale-if-error window, or None."""
        entry = self._data.get(host)
        if entry is not None and now < entry[2]:
            self.stale_serves += 1
            return entry
        return None

    def extend(self, host: str, fresh_until: float) -> tuple | None:
        """Treat ``host``'s entry (stale or not) as fresh until ``fresh_until``: DynamoDB just
        failed, and the next request should not wait for it again. Never past the stale window."""
        entry = self._data.get(host)
        if entry is None:
            return None
        entry = (entry[WORKSPACE], min(fresh_until, entry[STALE_UNTIL]), entry[STALE_UNTIL])
        self._data[host] = entry
        return entry

    def put(self, host: str, workspace_id: str | None, now: float) -> tuple:
        ttl = self._positive_ttl if workspace_id is not None else self._negative_ttl
        fresh_until = now + ttl * (1.0 - self._jitter * self._random())
        entry = (workspace_id, fresh_until, fresh_until + self._stale_window)
        data = self._data
        data[host] = entry
        data.move_to_end(host)
        if len(data) > self._max_entries:
            data.popitem(last=False)
            self.evictions += 1
        return entry

    def clear(self) -> None:
        self._data.clear()

    def counters(self) -> dict:
        return {
            "hits": self.hits,
            "negative_hits": self.negative_hits,
            "misses": self.misses,
            "stale_serves": self.stale_serves,
            "evictions": self.evictions,
            "entries": len(self._data),
        }
