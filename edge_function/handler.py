"""Lambda@Edge origin-request handler: Host -> workspace, or a generated 404/503.

The warm path (a cache hit) is one memo lookup for the Host value, one cache
lookup and three header writes; everything else (normalising, DynamoDB, JSON
logs) happens on misses only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

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

_PASS = object()  # memo marker: a platform host that goes through untouched
_INVALID = ""  # memo marker: not a hostname at all
_MEMO_LIMIT = 10_000


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")


class EdgeHandler:
    def __init__(
        self,
        config: dict,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache: EdgeCache | None = None,
        reader: ReplicaReader | None = None,
        current_region: str | None = None,
        emit: Callable[[dict], None] = _emit,
    ) -> None:
        self.config = config
        self.clock = clock
        self.emit = emit
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
        self.reader = (
            reader
            if reader is not None
            else ReplicaReader(
                table=config["table_name"],
                regions=config["replica_regions"],
                current_region=current_region,
                endpoint_url=config["endpoint_url"],
                endpoint_urls=config["endpoint_urls"],
                retries_per_region=config["retries_per_region"],
                client_factory=boto3_client_factory(config["connect_timeout_seconds"], config["read_timeout_seconds"]),
            )
        )
        self._ws_header = config["workspace_header"]
        self._ws_key = "-".join(part.capitalize() for part in self._ws_header.split("-"))
        self._fwd_header = config["forwarded_host_header"]
        self._fwd_key = "-".join(part.capitalize() for part in self._fwd_header.split("-"))
        self._suffixes = tuple(s.lower().strip(".") for s in config["pass_through_suffixes"])
        self._hosts: dict[str, object] = {}
        self._stats_interval = config["stats_interval_seconds"]
        self._next_stats = [clock() + self._stats_interval]  # a cell the closure can update
        self.handle = self._make_handle()

    # -- the hot path --------------------------------------------------------

    def __call__(self, event: dict, context: object = None) -> dict:
        return self.handle(event, context)

    def _make_handle(self) -> Callable[[dict, object], dict]:
        """The per-request function, with everything it touches bound as
        closure variables: attribute lookups on ``self`` cost more than the
        cache lookup itself on the warm path."""
        ws_header, ws_key = self._ws_header, self._ws_key
        fwd_header, fwd_key = self._fwd_header, self._fwd_key
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
            # Drop every viewer-sent copy before anything else, whatever the outcome.
            # CloudFront lowercases header keys, so one pop removes all casings.
            headers.pop(ws_header, None)
            try:
                raw = headers["host"][0]["value"]
            except (KeyError, IndexError):
                raw = ""
            host = hosts_get(raw)
            if host is None:
                host = learn_host(raw)
            if host is passing:
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

    # -- misses ----------------------------------------------------------------

    def _learn_host(self, raw: str) -> object:
        host = normalise_host(raw)
        if host is None:
            value: object = _INVALID
        elif is_pass_through(host, self._suffixes):
            value = _PASS
        else:
            value = host
        if len(self._hosts) >= _MEMO_LIMIT:
            self._hosts.clear()  # random Host headers must not grow memory forever
        self._hosts[raw] = value
        return value

    def _lookup(self, host: str, now: float) -> tuple | None:
        """A cache miss: ask DynamoDB, fall back to a stale entry, or None.

        Counters are logged from here rather than from the warm path: any
        busy container misses at least once per positive TTL."""
        self.cache.misses += 1
        if now >= self._next_stats[0]:
            self._log_stats(now)
        started = time.perf_counter()
        try:
            item, region = self.reader.get(host)
        except LookupFailed as exc:
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            entry = self.cache.stale(host, now)
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


def _build() -> EdgeHandler:
    return EdgeHandler(_config.load())


_handler = _build()


# A bound method rather than a wrapper function: one call frame fewer per request.
lambda_handler = _handler.handle
