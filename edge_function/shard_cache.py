"""The edge's copy of the host maps: loaded shard by shard, refreshed by polling the head.

- A lookup in a shard this container has not loaded fetches that shard (one
  GetItem) and keeps it; every later lookup in it is answered from memory,
  present or absent (there is no per-host negative cache).
- Once every ``poll_seconds``, on the request path, the head is read (one
  small GetItem). A loaded shard whose version changed is brought up to date
  from the head's deltas when they cover the gap, else fetched again. A new
  shard count drops every loaded shard (they are keyed by the old count).
- DynamoDB failing leaves loaded shards serving (stale, logged); only a lookup
  in a shard never loaded has no answer (``UNAVAILABLE``: the handler's 503).
- No head at all (the portal has not built shards yet) makes ``lookup`` return
  ``NO_SHARDS``: the handler then asks for the single hostname instead.

The handler inlines the warm path of ``lookup`` (``maps[index].get(host)``);
the benchmarks drive ``lookup`` itself on a simulated clock. ``source`` reads
the items: ``head(deadline) -> Head | None`` and ``shard(count, index,
deadline) -> Shard | None``, raising ``LookupFailed`` when no replica answers.
"""

from __future__ import annotations

from collections.abc import Callable

from .replicas import LookupFailed
from .shards import HEAD_KEY, Head, Shard, head_from_item, shard_from_item, shard_key

UNAVAILABLE = object()  # the shard was never loaded and could not be now
NO_SHARDS = object()  # there is no head: the portal has not built shards (yet)


class ShardCache:
    __slots__ = (
        "_emit",
        "_failure_backoff",
        "_on_reshard",
        "_poll_seconds",
        "count",
        "deltas_applied",
        "has_head",
        "head_version",
        "last_poll",
        "load_failures",
        "loads",
        "maps",
        "next_poll",
        "poll_failures",
        "polls",
        "refetches",
        "source",
        "stale_serves",
        "versions",
        "wanted",
    )

    def __init__(
        self,
        source,
        *,
        poll_seconds: float = 10.0,
        failure_backoff: float = 5.0,
        emit: Callable[[dict], None] = lambda record: None,
        on_reshard: Callable[[], None] = lambda: None,
    ) -> None:
        self.source = source
        self._poll_seconds = poll_seconds
        self._failure_backoff = failure_backoff
        self._emit = emit
        self._on_reshard = on_reshard
        self.count = 0
        # One slot per shard: the loaded map or None. Before the first head there is one
        # empty slot, so an index of 0 always reads None and goes to the miss path.
        self.maps: list[dict | None] = [None]
        self.versions: list[int] = [0]
        self.wanted: list[int] = [0]
        self.has_head = False
        self.head_version = 0
        self.next_poll = float("-inf")  # the first request reads the head
        self.last_poll = float("-inf")
        self.loads = self.refetches = self.deltas_applied = 0
        self.polls = self.poll_failures = self.load_failures = self.stale_serves = 0

    # -- the request path ----------------------------------------------------------

    def lookup(self, host: str, index: int, now: float, deadline: float | None = None):
        """The workspace for ``host`` (whose shard is ``index`` for the current count), None
        for a host not served, UNAVAILABLE, or NO_SHARDS. What the handler does per request."""
        if now >= self.next_poll:
            self.poll(now, deadline)
        mapping = self.maps[index] if index < len(self.maps) else None
        if mapping is not None:
            return mapping.get(host)
        return self.load(host, index, now, deadline)

    def poll(self, now: float, deadline: float | None = None) -> None:
        """Read the head; follow a new count; bring changed loaded shards up to date."""
        self.polls += 1
        self.last_poll = now
        self.next_poll = now + self._poll_seconds
        try:
            head = self.source.head(deadline)
        except (LookupFailed, ValueError) as exc:
            self.poll_failures += 1
            self.next_poll = now + min(self._poll_seconds, self._failure_backoff)
            self._emit({"event": "edge_shards", "outcome": "poll_failed", "error": _describe(exc)})
            return
        if head is None:
            if self.has_head:  # it was there before: keep serving what is loaded
                self._emit({"event": "edge_shards", "outcome": "head_missing", "loaded": self.loaded()})
            return
        if head.count != self.count:
            self._reshard(head)
        self.has_head = True
        self.head_version = head.version
        self.wanted = list(head.versions)
        changed = [i for i, m in enumerate(self.maps) if m is not None and self.versions[i] < head.versions[i]]
        if not changed:
            return
        refetched, patched, failed = [], [], []
        for index in changed:
            if self._apply_deltas(index, head):
                patched.append(index)
            elif self._fetch(index, deadline, refetch=True):
                refetched.append(index)
            else:
                failed.append(index)
        self._emit(
            {
                "event": "edge_shards",
                "outcome": "refreshed" if not failed else "refresh_failed",
                "head_version": head.version,
                "patched": patched,
                "refetched": refetched,
                "failed": failed,
            }
        )

    def load(self, host: str, index: int, now: float, deadline: float | None = None):
        """A lookup in a shard that is not loaded: fetch it, then answer from it."""
        if not self.has_head:
            return NO_SHARDS
        if self._fetch(index, deadline, refetch=False):
            return self.maps[index].get(host)
        return UNAVAILABLE

    # -- internals -----------------------------------------------------------------------

    def _reshard(self, head: Head) -> None:
        previous = self.count
        self.count = head.count
        # In place: the handler's warm path holds this very list.
        self.maps[:] = [None] * head.count
        self.versions = [0] * head.count
        self._on_reshard()
        if previous:
            self._emit({"event": "edge_shards", "outcome": "resharded", "from": previous, "to": head.count})

    def _apply_deltas(self, index: int, head: Head) -> bool:
        steps = head.chain(index, self.versions[index], head.versions[index])
        if steps is None:
            return False
        mapping = dict(self.maps[index])  # a new map: the old one stays whole until swapped in
        for _index, _start, _end, changes in steps:
            for host, workspace in changes.items():
                if workspace:
                    mapping[host] = workspace
                else:
                    mapping.pop(host, None)
        self.maps[index] = mapping
        self.versions[index] = head.versions[index]
        self.deltas_applied += 1
        return True

    def _fetch(self, index: int, deadline: float | None, *, refetch: bool) -> bool:
        try:
            shard = self.source.shard(self.count, index, deadline)
            if shard is None:
                raise LookupFailed([("", f"shard {index} of {self.count} is missing")])
            if shard.count != self.count or shard.index != index:
                raise ValueError(f"item for shard {index}/{self.count} holds {shard.index}/{shard.count}")
        except (LookupFailed, ValueError) as exc:
            if refetch:
                self.stale_serves += 1
            else:
                self.load_failures += 1
            self._emit(
                {
                    "event": "edge_shards",
                    "outcome": "stale" if refetch else "unavailable",
                    "shard": index,
                    "version": self.versions[index],
                    "error": _describe(exc),
                }
            )
            return False
        if shard.version >= self.versions[index]:  # never go back to an older copy
            self.maps[index] = shard.mapping
            self.versions[index] = shard.version
        if refetch:
            self.refetches += 1
        else:
            self.loads += 1
        return True

    def loaded(self) -> int:
        return sum(1 for m in self.maps if m is not None)

    def counters(self) -> dict:
        return {
            "count": self.count,
            "head_version": self.head_version,
            "loaded": self.loaded(),
            "hosts": sum(len(m) for m in self.maps if m is not None),
            "loads": self.loads,
            "refetches": self.refetches,
            "deltas_applied": self.deltas_applied,
            "polls": self.polls,
            "poll_failures": self.poll_failures,
            "load_failures": self.load_failures,
            "stale_serves": self.stale_serves,
        }


def _describe(exc: Exception) -> str | list:
    if isinstance(exc, LookupFailed):
        return [f"{region}: {error}" for region, error in exc.errors]
    return f"{type(exc).__name__}: {exc}"


class TableSource:
    """Reads the head and shard items through a ReplicaReader (what the handler uses)."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.last_region: str | None = None  # the replica that answered the last read

    def head(self, deadline: float | None) -> Head | None:
        item, self.last_region = self.reader.get(HEAD_KEY, deadline=deadline, projection=None)
        return head_from_item(item) if item else None

    def shard(self, count: int, index: int, deadline: float | None) -> Shard | None:
        item, self.last_region = self.reader.get(shard_key(count, index), deadline=deadline, projection=None)
        return shard_from_item(item) if item else None
