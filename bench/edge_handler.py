"""Edge handler benchmark: warm path and cold start, in shard mode (the default).

    .venv/bin/python bench/edge_handler.py [--batches 20000] [--cold-runs 20] [--shard-hosts 15625]

The table holds the head and the shard of the benchmark's hostname, filled to
--shard-hosts hostnames (default 15,625: one of 64 shards of 1,000,000).

Warm path: per-call time of a lookup answered from memory through
  edge       the real handler in shard mode (edge_function.handler.EdgeHandler, as lambda_handler)
  edge_host  the real handler in host mode (the per-host TTL cache)
  minimal    a handler that only looks Host up in a dict, drops the viewer-sent
             forms of the two trusted headers and sets the headers
  cachetools the real handler in host mode with its cache swapped for cachetools.TTLCache
Calls are timed in batches of --batch-size (so timer overhead is ~1/batch-size
of one perf_counter_ns call per request), variants interleaved batch by batch,
GC off while timing; median and p99 are over batches, divided by batch size.

Cold start: wall time from spawning a fresh interpreter to its exit, for
  edge_cold  import the handler and answer one origin-request event: it reads the
             head and then the hostname's shard from the local DynamoDB endpoint
             (moto, loopback) and decodes the shard
  boto3_bare import boto3; boto3.client("dynamodb")
interleaved run by run; medians compared.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edge_function import shards
from edge_function.cache import EdgeCache
from edge_function.config import validate
from edge_function.handler import EdgeHandler, header_forms
from edgelocal.events import custom_origin, request_event
from tests.fixtures.dynamodb import (
    FAKE_AWS_ENV,
    create_edge_table,
    dynamodb_client,
    start_moto_server,
)

HOST = "gallery.client.com"
WORKSPACE = "ws-2f9c1d7e"
ORIGIN = "main.d1a2b3c4.amplifyapp.com"


def make_event(host: str = HOST) -> dict:
    """A browser's page request for ``host``, as CloudFront hands it to the function."""
    return request_event(
        [
            ("Host", host),
            ("User-Agent", "Mozilla/5.0"),
            ("Accept", "text/html"),
            ("Accept-Encoding", "gzip, br"),
        ],
        origin=custom_origin(ORIGIN),
    )


# -- the comparison handlers ------------------------------------------------------

_DIRECTORY = {HOST: WORKSPACE}
_NOT_FOUND = {
    "status": "404",
    "statusDescription": "Not Found",
    "headers": {},
    "body": "not connected",
}
# What any correct handler must drop before serving (see EdgeHandler._foreign_forms).
_FOREIGN = (header_forms("x-workspace-id") | header_forms("x-forwarded-host")) - {"x-workspace-id", "x-forwarded-host"}


def minimal_handler(event, context=None):
    """Only a dict lookup, the check for viewer-sent forms of the trusted headers,
    and the header writes: the floor for any correct handler."""
    request = event["Records"][0]["cf"]["request"]
    headers = request["headers"]
    if not _FOREIGN.isdisjoint(headers):
        for key in _FOREIGN:
            headers.pop(key, None)
    host = headers["host"][0]["value"]
    workspace = _DIRECTORY.get(host)
    if workspace is None:
        return _NOT_FOUND
    headers["x-workspace-id"] = [{"key": "X-Workspace-Id", "value": workspace}]
    headers["x-forwarded-host"] = [{"key": "X-Forwarded-Host", "value": host}]
    headers["host"] = [{"key": "Host", "value": request["origin"]["custom"]["domainName"]}]
    return request


class TTLCacheAdapter:
    """The EdgeHandler cache interface on cachetools.TTLCache (one per TTL,
    since TTLCache has a single TTL). It cannot serve stale entries: TTLCache
    drops them on expiry."""

    def __init__(self, maxsize: int, positive_ttl: float, negative_ttl: float) -> None:
        from cachetools import TTLCache

        self._positive = TTLCache(maxsize, positive_ttl)
        self._negative = TTLCache(maxsize, negative_ttl)
        self.hits = self.negative_hits = self.misses = self.stale_serves = self.evictions = 0

    def peek(self, host):
        # TTLCache expires entries itself, so what it returns is always fresh.
        entry = self._positive.get(host)
        return entry if entry is not None else self._negative.get(host)

    def touch(self, host):
        pass  # TTLCache keeps its own LRU order on access

    def stale(self, host, now):
        return None

    def put(self, host, workspace_id, now):
        entry = (workspace_id, float("inf"), float("inf"))
        (self._positive if workspace_id is not None else self._negative)[host] = entry
        return entry

    def counters(self):
        return {"hits": self.hits, "misses": self.misses}

    def __len__(self):
        return len(self._positive) + len(self._negative)


# -- measurement ----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_warm(variants: dict, batches: int, batch_size: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    counter = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for _ in range(batches):
            for name, handler in variants.items():
                events = [make_event() for _ in range(batch_size)]
                start = counter()
                for event in events:
                    handler(event, None)
                samples[name].append((counter() - start) / batch_size)
    finally:
        gc.enable()
    return samples


COLD_EDGE = """
from edge_function.handler import lambda_handler
import json, sys
event = json.loads(sys.argv[1])
result = lambda_handler(event, None)
assert result["headers"]["x-workspace-id"][0]["value"] == sys.argv[2], result
"""
COLD_BARE = 'import boto3; boto3.client("dynamodb")'


def time_cold(runs: int, env: dict) -> dict[str, list[float]]:
    event = json.dumps(make_event())
    commands = {
        "edge_cold": [sys.executable, "-c", COLD_EDGE, event, WORKSPACE],
        "boto3_bare": [sys.executable, "-c", COLD_BARE],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # one unmeasured run each: warm the OS file cache
        subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def shard_items(shard_hosts: int, count: int = 64, seed: int = 1) -> list[dict]:
    """The head and the benchmark hostname's shard (with shard_hosts hostnames), as the portal writes them."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    mapping = {HOST: WORKSPACE}
    while len(mapping) < shard_hosts:
        name = "".join(rng.choices(letters, k=rng.randint(5, 14)))
        mapping[f"{rng.choice(['gallery.', 'photos.', 'www.', ''])}{name}.{rng.choice(['com', 'co.uk', 'de'])}"] = (
            f"ws_{rng.getrandbits(64):016x}"
        )
    index = shards.shard_of(HOST, count)
    data, digest = shards.encode_shard(mapping)
    versions = [1] * count
    return [
        {
            "host": {"S": shards.shard_key(count, index)},
            "version": {"N": "1"},
            "count": {"N": str(count)},
            "index": {"N": str(index)},
            "format": {"N": str(shards.FORMAT)},
            "hosts": {"N": str(len(mapping))},
            "digest": {"S": digest},
            "data": {"B": data},
        },
        {
            "host": {"S": shards.HEAD_KEY},
            "version": {"N": "1"},
            "count": {"N": str(count)},
            "format": {"N": str(shards.FORMAT)},
            "data": {"B": shards.encode_head(count, versions, [])},
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--shard-hosts", type=int, default=15_625)
    args = parser.parse_args()

    os.environ.update(FAKE_AWS_ENV)
    os.environ["AWS_REGION"] = "us-east-1"
    server = start_moto_server()
    try:
        client = dynamodb_client(server.url)
        create_edge_table(client, "ve-custom-domains")
        client.put_item(
            TableName="ve-custom-domains",
            Item={
                "host": {"S": HOST},
                "workspace_id": {"S": WORKSPACE},
                "version": {"N": "1"},
                "state": {"S": "serve"},
                "updated_at": {"S": "2026-01-01T00:00:00+00:00"},
            },
        )
        items = shard_items(args.shard_hosts)
        for item in items:
            client.put_item(TableName="ve-custom-domains", Item=item)
        shard_bytes = len(items[0]["data"]["B"])
        config = validate(
            {
                "replica_regions": ["us-east-1"],
                "endpoint_url": server.url,
                "read_timeout_seconds": 5.0,
                # The warm path is what is timed: no poll of the head falls inside the loop.
                "shard_poll_seconds": 3600,
            }
        )

        edge = EdgeHandler(config, emit=lambda record: None)
        edge_host = EdgeHandler({**config, "lookup_mode": "host"}, emit=lambda record: None)
        cached = EdgeHandler(
            {**config, "lookup_mode": "host"},
            emit=lambda record: None,
            cache=TTLCacheAdapter(
                config["cache_max_entries"],
                config["positive_ttl_seconds"],
                config["negative_ttl_seconds"],
            ),
        )
        variants = {
            "edge": edge.handle,
            "edge_host": edge_host.handle,
            "minimal": minimal_handler,
            "cachetools": cached.handle,
        }
        for (
            name,
            handler,
        ) in variants.items():  # the first call of each is a miss; fill the caches
            result = handler(make_event(), None)
            assert result["headers"]["x-workspace-id"][0]["value"] == WORKSPACE, (
                name,
                result,
            )
        assert edge.shards.loads == 1 and edge.shards.polls == 1
        assert isinstance(edge_host.cache, EdgeCache) and edge_host.cache.misses == 1

        warm = time_warm(variants, args.batches, args.batch_size)
        # Nothing but memory: no poll is due within the run (10 s), nothing missed.
        assert edge.shards.loads == edge.shards.polls == 1 and edge_host.cache.misses == 1, (
            "the warm loop must only hit memory"
        )

        fd, config_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(
                {
                    "replica_regions": ["us-east-1"],
                    "endpoint_url": server.url,
                    "read_timeout_seconds": 5.0,
                },
                fh,
            )
        env = {**os.environ, "EDGE_CONFIG": config_path, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            cold = time_cold(args.cold_runs, env)
        finally:
            os.unlink(config_path)
    finally:
        server.stop()

    figures: dict[str, float] = {}
    print(f"Warm path: cache hit, {args.batches} batches of {args.batch_size} calls per variant (ns per call)")
    print(f"  {'variant':<12}{'median':>10}{'p99':>10}")
    for name, values in warm.items():
        median, p99 = statistics.median(values), percentile(values, 0.99)
        figures[f"warm_{name}_median_ns"] = round(median, 1)
        figures[f"warm_{name}_p99_ns"] = round(p99, 1)
        print(f"  {name:<12}{median:>10.0f}{p99:>10.0f}")
    ratio_min = figures["warm_edge_median_ns"] / figures["warm_minimal_median_ns"]
    ratio_host = figures["warm_edge_host_median_ns"] / figures["warm_minimal_median_ns"]
    ratio_ct = figures["warm_edge_median_ns"] / figures["warm_cachetools_median_ns"]
    figures["warm_edge_vs_minimal"] = round(ratio_min, 3)
    figures["warm_edge_host_vs_minimal"] = round(ratio_host, 3)
    figures["warm_edge_vs_cachetools"] = round(ratio_ct, 3)
    print(f"  edge / minimal      = {ratio_min:.2f}x  (goal <= 1.5x: {'met' if ratio_min <= 1.5 else 'NOT met'})")
    print(f"  edge_host / minimal = {ratio_host:.2f}x  (host mode, for comparison)")
    print(f"  edge / cachetools   = {ratio_ct:.2f}x  (goal < 1.0x: {'met' if ratio_ct < 1 else 'NOT met'})")

    print(
        f"\nCold start: fresh process to exit, {args.cold_runs} runs each (ms); "
        f"the shard holds {args.shard_hosts:,} hostnames in {shard_bytes / 1024:.0f} KB"
    )
    figures["cold_shard_hosts"] = args.shard_hosts
    figures["cold_shard_bytes"] = shard_bytes
    print(f"  {'variant':<12}{'median':>10}{'p99':>10}{'min':>10}")
    for name, values in cold.items():
        median, p99 = statistics.median(values), percentile(values, 0.99)
        figures[f"{name}_median_ms"] = round(median, 1)
        figures[f"{name}_p99_ms"] = round(p99, 1)
        print(f"  {name:<12}{median:>10.1f}{p99:>10.1f}{min(values):>10.1f}")
    ratio_cold = figures["edge_cold_median_ms"] / figures["boto3_bare_median_ms"]
    figures["cold_edge_vs_boto3"] = round(ratio_cold, 3)
    print(f"  edge_cold / boto3_bare = {ratio_cold:.2f}x  (goal <= 1.2x: {'met' if ratio_cold <= 1.2 else 'NOT met'})")
    print(
        "  (edge_cold includes two GetItems over loopback to the moto endpoint, head and shard; no AWS network latency)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
