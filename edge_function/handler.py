"""Lambda@Edge origin-request handler: Host -> workspace, or a generated 404/503.

Two lookup modes (``lookup_mode`` in the config):

- ``shards`` (default): the host map in whole shards (``shard_cache.py``),
  loaded on first use and refreshed by polling the head item. The warm path is
  one memo lookup for the Host value, one list index and one dict lookup.
- ``host``: the seed's per-host cache with positive and negative TTLs
  (``cache.py``), one GetItem per hostname per TTL.

Everything else (normalising, DynamoDB, JSON logs) happens on misses only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from itertools import product

from . import config as _config
from . import responses
from .cache import EdgeCache
from .hostnames import is_pass_through, normalise_host
from .replicas import (
    LookupFailed,
    ReplicaReader,
    boto3_client_factory,
    servable_workspace,
)
from .shard_cache import NO_SHARDS, UNAVAILABLE, ShardCache, TableSource
from .shards import shard_of

_PASS = object()  # memo marker: a platform host that goes through untouched
_INVALID = ""  # memo marker (host mode): not a hostname at all
_INVALID_ENTRY = ()  # memo marker (shard mode): not a hostname at all
_MEMO_LIMIT = 10_000
# The longest Host value that can still be a hostname: 253 characters, a trailing dot
# and a port. Anything longer is answered 404 without entering the memo.
MAX_HOST_LENGTH = 253 + 1 + len(":65535")


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")


def header_forms(name: str) -> frozenset[str]:
    """Every key a header reaches an origin as, once a WSGI server folds ``-`` and ``_``
    together (``x-workspace-id``, ``x_workspace_id``, ``x-workspace_id``, ...).
    CloudFront lowercases keys, so one key per form covers every letter case."""
    parts = name.split("-")
    forms = set()
    for separators in product("-_", repeat=len(parts) - 1):
        forms.add(parts[0] + "".join(sep + part for sep, part in zip(separators, parts[1:], strict=True)))
    return frozenset(forms)


class EdgeHandler:
    def __init__(
        self,
        config: dict,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache: EdgeCache | None = None,
        reader: ReplicaReader | None = None,
        shards: ShardCache | None = None,
        current_region: str | None = None,
        emit: Callable[[dict], None] = _emit,
    ) -> None:
        self.config = config
        self.clock = clock
        self.emit = emit
        self.mode = config["lookup_mode"]
        self.cache = (
            cache
            if cache is not None
            else EdgeCache(
                max_entries=config["cache_max_entries"],
                positive_ttl=config["positive_ttl_seconds"],
                negative_ttl=config["negative_ttl_seconds"],
                jitter=config["ttl_jitter"],
                stale_window=config["stale_if_error_seconds"],
            )
        )
        if current_region is None:
            current_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.reader = reader if reader is not None else build_reader(config, current_region)
        self._hosts: dict[str, object] = {}
        self.shards = (
            shards
            if shards is not None
            else ShardCache(
                TableSource(self.reader),
                poll_seconds=config["shard_poll_seconds"],
                failure_backoff=config["failure_backoff_seconds"],
                emit=emit,
            )
        )
        self.shards._on_reshard = self._hosts.clear  # memo entries hold the shard index
        self._ws_header = config["workspace_header"]
        self._ws_key = "-".join(part.capitalize() for part in self._ws_header.split("-"))
        self._fwd_header = config["forwarded_host_header"]
        self._fwd_key = "-".join(part.capitalize() for part in self._fwd_header.split("-"))
        # Viewer-sent forms of the two headers the origin trusts, other than the exact keys
        # (which the handler overwrites when it serves, and drops when it passes through).
        self._foreign_forms = (header_forms(self._ws_header) | header_forms(self._fwd_header)) - {
            self._ws_header,
            self._fwd_header,
        }
        self._suffixes = tuple(s.lower().strip(".") for s in config["pass_through_suffixes"])
        self._failure_backoff = config["failure_backoff_seconds"]
        self._stats_interval = config["stats_interval_seconds"]
        self._next_stats = [clock() + self._stats_interval]  # a cell the closure can update
        self.handle = self._make_shard_handle() if self.mode == "shards" else self._make_host_handle()

    # -- the hot path --------------------------------------------------------

    def __call__(self, event: dict, context: object = None) -> dict:
        return self.handle(event, context)

    def memo_size(self) -> int:
        return len(self._hosts)

    def _make_host_handle(self) -> Callable[[dict, object], dict]:
        """The per-request function of host mode, with everything it touches bound as
        closure variables: attribute lookups on ``self`` cost more than the cache lookup
        itself on the warm path."""
        ws_header, ws_key = self._ws_header, self._ws_key
        fwd_header, fwd_key = self._fwd_header, self._fwd_key
        foreign_isdisjoint, strip_foreign = self._foreign_forms.isdisjoint, self._strip_foreign
        hosts_get, learn_host = self._hosts.get, self._learn_host
        clock, lookup = self.clock, self._lookup
        cache = self.cache
        peek, touch = cache.peek, cache.touch
        not_found, unavailable = self._not_found, self._unavailable
        passing = _PASS

        def handle(event: dict, context: object = None) -> dict:
            cf = event["Records"][0]["cf"]
            request = cf["request"]
            headers = request["headers"]
            # Whatever the outcome, no viewer-sent form of the trusted headers reaches the origin.
            if not foreign_isdisjoint(headers):
                strip_foreign(headers)
            try:
                raw = headers["host"][0]["value"]
            except (KeyError, IndexError):
                raw = ""
            host = hosts_get(raw)
            if host is None:
                host = learn_host(raw)
            if host is passing:
                headers.pop(ws_header, None)
                headers.pop(fwd_header, None)
                return request
            if not host:
                return not_found(None)
            now = clock()
            # EdgeCache.get, inlined: this is the whole warm path.
            entry = peek(host)
            if entry is not None and now < entry[1]:
                touch(host)
                workspace = entry[0]
                if workspace is None:
                    cache.negative_hits += 1
                    return not_found(host)
                cache.hits += 1
            else:
                entry = lookup(host, now)
                if entry is None:
                    return unavailable()
                workspace = entry[0]
                if workspace is None:
                    return not_found(host)
            headers[ws_header] = [{"key": ws_key, "value": workspace}]
            headers[fwd_header] = [{"key": fwd_key, "value": host}]
            try:
                # Amplify routes by Host, so the origin must see its own domain.
                # Viewer-request events carry no origin (and Host is read-only there).
                origin_domain = request["origin"]["custom"]["domainName"]
            except KeyError:
                origin_domain = _other_origin_domain(request)
                if origin_domain is None:
                    return request
            headers["host"] = [{"key": "Host", "value": origin_domain}]
            return request

        return handle

    def _make_shard_handle(self) -> Callable[[dict, object], dict]:
        """The per-request function of shard mode (see _make_host_handle for why a closure)."""
        ws_header, ws_key = self._ws_header, self._ws_key
        fwd_header, fwd_key = self._fwd_header, self._fwd_key
        foreign_isdisjoint, strip_foreign = self._foreign_forms.isdisjoint, self._strip_foreign
        hosts_get, learn = self._hosts.get, self._learn_shard_host
        clock, poll, miss, new_deadline = self.clock, self._poll, self._shard_miss, self.reader.deadline
        shards = self.shards
        maps = shards.maps  # resharding replaces its contents, never the list
        not_found, unavailable = self._not_found, self._unavailable
        passing, no_answer = _PASS, UNAVAILABLE

        def handle(event: dict, context: object = None) -> dict:
            request = event["Records"][0]["cf"]["request"]
            headers = request["headers"]
            # Whatever the outcome, no viewer-sent form of the trusted headers reaches the origin.
            if not foreign_isdisjoint(headers):
                strip_foreign(headers)
            try:
                raw = headers["host"][0]["value"]
            except (KeyError, IndexError):
                raw = ""
            now = clock()
            deadline = None
            if now >= shards.next_poll:
                deadline = new_deadline()
                poll(now, deadline)
            entry = hosts_get(raw)
            if entry is None:
                entry = learn(raw)
            if entry is passing:
                headers.pop(ws_header, None)
                headers.pop(fwd_header, None)
                return request
            if not entry:
                return not_found(None)
            host, index = entry
            # ShardCache.lookup, inlined: this is the whole warm path.
            mapping = maps[index]
            if mapping is not None:
                workspace = mapping.get(host)
            else:
                workspace = miss(host, index, now, deadline)
                if workspace is no_answer:
                    return unavailable()
            if workspace is None:
                return not_found(host)
            headers[ws_header] = [{"key": ws_key, "value": workspace}]
            headers[fwd_header] = [{"key": fwd_key, "value": host}]
            try:
                origin_domain = request["origin"]["custom"]["domainName"]
            except KeyError:
                origin_domain = _other_origin_domain(request)
                if origin_domain is None:
                    return request
            headers["host"] = [{"key": "Host", "value": origin_domain}]
            return request

        return handle

    def _strip_foreign(self, headers: dict) -> None:
        for key in self._foreign_forms:
            headers.pop(key, None)

    # -- misses ----------------------------------------------------------------

    def _classify(self, raw: str) -> object:
        """A raw Host value: the normalised hostname, _PASS, or None (not a hostname)."""
        if len(raw) > MAX_HOST_LENGTH:
            return None
        host = normalise_host(raw)
        if host is None:
            return None
        return _PASS if is_pass_through(host, self._suffixes) else host

    def _remember(self, raw: str, value: object) -> object:
        if len(raw) > MAX_HOST_LENGTH:
            return value  # junk Host values never enter the memo
        if len(self._hosts) >= _MEMO_LIMIT:
            self._hosts.clear()  # random Host headers must not grow memory forever
        self._hosts[raw] = value
        return value

    def _learn_host(self, raw: str) -> object:
        host = self._classify(raw)
        return self._remember(raw, _INVALID if host is None else host)

    def _learn_shard_host(self, raw: str) -> object:
        host = self._classify(raw)
        if host is None:
            value: object = _INVALID_ENTRY
        elif host is _PASS:
            value = _PASS
        else:
            count = self.shards.count
            value = (host, shard_of(host, count) if count else 0)
        return self._remember(raw, value)

    def _poll(self, now: float, deadline: float) -> None:
        self.shards.poll(now, deadline)
        if now >= self._next_stats[0]:
            self._next_stats[0] = now + self._stats_interval
            self.emit({"event": "edge_cache", "mode": "shards", **self.shards.counters()})

    def _shard_miss(self, host: str, index: int, now: float, deadline: float | None) -> object:
        """A lookup in a shard this container has not loaded: load it (UNAVAILABLE if that
        fails), or, while the portal has written no shards at all, ask for the hostname."""
        if deadline is None:
            deadline = self.reader.deadline()
        started = time.perf_counter()
        workspace = self.shards.load(host, index, now, deadline)
        if workspace is NO_SHARDS:
            entry = self.cache.peek(host)
            if entry is None or now >= entry[1]:
                entry = self._lookup(host, now, deadline)
            return UNAVAILABLE if entry is None else entry[0]
        if workspace is not UNAVAILABLE:
            self.emit(
                {
                    "event": "edge_lookup",
                    "host": host,
                    "outcome": "shard_loaded",
                    "shard": index,
                    "version": self.shards.versions[index],
                    "hosts": len(self.shards.maps[index]),
                    "region": getattr(self.shards.source, "last_region", None),
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                }
            )
        return workspace

    def _lookup(self, host: str, now: float, deadline: float | None = None) -> tuple | None:
        """A per-host cache miss: ask DynamoDB, fall back to a stale entry, or None.

        A stale entry served because DynamoDB failed is kept for
        ``failure_backoff_seconds``, so the next request does not wait again.
        Counters are logged from here rather than from the warm path: any
        busy container misses at least once per positive TTL."""
        self.cache.misses += 1
        if now >= self._next_stats[0]:
            self._log_stats(now)
        started = time.perf_counter()
        try:
            item, region = self.reader.get(host, deadline=deadline)
        except LookupFailed as exc:
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            entry = self.cache.stale(host, now)
            if entry is not None:
                entry = self.cache.extend(host, now + self._failure_backoff)
            self.emit(
                {
                    "event": "edge_lookup",
                    "host": host,
                    "outcome": "stale" if entry is not None else "unavailable",
                    "region": None,
                    "latency_ms": latency_ms,
                    "errors": [f"{r}: {e}" for r, e in exc.errors],
                }
            )
            return entry
        workspace = servable_workspace(item)
        self.emit(
            {
                "event": "edge_lookup",
                "host": host,
                "outcome": "serve" if workspace else ("gone" if item else "not_found"),
                "region": region,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
        return self.cache.put(host, workspace, now)

    def _not_found(self, host: str | None) -> dict:
        return responses.not_found(host, self.config["not_found_max_age_seconds"])

    def _unavailable(self) -> dict:
        return responses.unavailable(self.config["unavailable_retry_after_seconds"])

    def _log_stats(self, now: float) -> None:
        self._next_stats[0] = now + self._stats_interval
        self.emit({"event": "edge_cache", **self.cache.counters()})


def _other_origin_domain(request: dict) -> str | None:
    origin = request.get("origin")
    if not origin:
        return None
    target = origin.get("custom") or origin.get("s3")
    return target.get("domainName") if target else None


def build_reader(config: dict, current_region: str | None) -> ReplicaReader:
    budget = config["lookup_budget_seconds"]
    return ReplicaReader(
        table=config["table_name"],
        regions=config["replica_regions"],
        current_region=current_region,
        endpoint_url=config["endpoint_url"],
        endpoint_urls=config["endpoint_urls"],
        retries_per_region=config["retries_per_region"],
        client_factory=boto3_client_factory(
            min(config["connect_timeout_seconds"], budget), min(config["read_timeout_seconds"], budget)
        ),
        budget=budget,
        read_timeout=config["read_timeout_seconds"],
    )


def _build() -> EdgeHandler:
    return EdgeHandler(_config.load())


_handler = _build()


# A bound method rather than a wrapper function: one call frame fewer per request.
lambda_handler = _handler.handle
