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
from .replicas import LookupFailed, ReplicaReader, boto3_client_factory, servable_workspace

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
        self.cache = cache or EdgeCache(
            max_entries=config["cache_max_entries"],
            positive_ttl=config["positive_ttl_seconds"],
            negative_ttl=config["negative_ttl_seconds"],
            jitter=config["ttl_jitter"],
            stale_window=config["stale_if_error_seconds"],
        )
        if current_region is None:
            current_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.reader = reader or ReplicaReader(
            table=config["table_name"],
            regions=config["replica_regions"],
            current_region=current_region,
            endpoint_url=config["endpoint_url"],
            endpoint_urls=config["endpoint_urls"],
            retries_per_region=config["retries_per_region"],
            client_factory=boto3_client_factory(
                config["connect_timeout_seconds"], config["read_timeout_seconds"]
            ),
        )
        self._ws_header = config["workspace_header"]
        self._ws_key = "-".join(part.capitalize() for part in self._ws_header.split("-"))
        self._fwd_header = config["forwarded_host_header"]
        self._fwd_key = "-".join(part.capitalize() for part in self._fwd_header.split("-"))
        self._suffixes = tuple(s.lower().strip(".") for s in config["pass_through_suffixes"])
        self._hosts: dict[str, object] = {}
        self._stats_interval = config["stats_interval_seconds"]
        self._next_stats = clock() + self._stats_interval

    # -- the hot path --------------------------------------------------------

    def __call__(self, event: dict, context: object = None) -> dict:
        cf = event["Records"][0]["cf"]
        request = cf["request"]
        headers = request["headers"]
        # Drop every viewer-sent copy before anything else, whatever the outcome.
        # CloudFront lowercases header keys, so one pop removes all casings.
        headers.pop(self._ws_header, None)
        host_values = headers.get("host")
        raw = host_values[0]["value"] if host_values else ""
        host = self._hosts.get(raw)
        if host is None:
            host = self._learn_host(raw)
        if host is _PASS:
            return request
        now = self.clock()
        if not host:
            return responses.not_found(None, self.config["not_found_max_age_seconds"])
        entry = self.cache.get(host, now)
        if entry is None:
            entry = self._lookup(host, now)
            if entry is None:
                return responses.unavailable(self.config["unavailable_retry_after_seconds"])
        if now >= self._next_stats:
            self._log_stats(now)
        workspace = entry[0]
        if workspace is None:
            return responses.not_found(host, self.config["not_found_max_age_seconds"])
        headers[self._ws_header] = [{"key": self._ws_key, "value": workspace}]
        headers[self._fwd_header] = [{"key": self._fwd_key, "value": host}]
        if cf["config"].get("eventType") != "viewer-request":
            # Amplify routes by Host, so the origin must see its own domain.
            origin = request.get("origin") or {}
            target = origin.get("custom") or origin.get("s3")
            if target:
                headers["host"] = [{"key": "Host", "value": target["domainName"]}]
        return request

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

    def _log_stats(self, now: float) -> None:
        self._next_stats = now + self._stats_interval
        self.emit({"event": "edge_cache", **self.cache.counters()})


def _build() -> EdgeHandler:
    return EdgeHandler(_config.load())


_handler = _build()


# A bound method rather than a wrapper function: one call frame fewer per request.
lambda_handler = _handler.__call__
