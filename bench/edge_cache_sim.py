"""Per-host TTL cache vs sharded host maps at the edge: a trace-driven simulation of the real cache code.

    .venv/bin/python bench/edge_cache_sim.py [--requests 1000000] [--sizes 2000,100000,1000000] [--seed 1]

The trace (the same for every mode): Zipf(s = 1.1) requests over N hostnames
at 200 requests/s (1,000,000 requests span 5,000 simulated seconds, about 83
minutes), spread uniformly at random over 20 container slots. Each slot runs
one Lambda@Edge container at a time; a container lives 5 to 60 minutes (drawn
uniformly) and is replaced by a cold one. Every container starts cold 15
minutes before the measured requests (--warmup): those requests warm them and
are not counted, so the figures are the steady state, not a fresh deployment
(which --warmup 0 shows). Changes are injected during the trace (one
every --change-every seconds on average, a hostname drawn by the same
popularity, toggled between served and not served), so staleness is measured
with the portal's write path modelled: an item per hostname lands --outbox-delay
after the change; a shard is built at most once per second (debounce) after a
--build-delay and lands --write-delay later, with the head.

Modes, each driving the real code with a simulated clock:
  per-host TTL 60/300/900 s   edge_function.cache.EdgeCache (negative TTL 30 s, 10 % jitter)
  shards                      edge_function.shard_cache.ShardCache, K shards chosen per size
                              (about 192 KB of compressed data each), poll every 10 s; the head
                              lists the changes of the last 120 s, which warm containers patch in
  shards_nodelta              the same without deltas in the head: a changed shard is fetched again

DynamoDB is modelled, not called: read units per GetItem are ceil(item bytes /
4 KB) x 0.5 (eventually consistent), with the real encoded sizes of the shard
and head items (realistic hostnames and workspace ids); a GetItem takes 8 ms
plus 1 ms per 100 KB. "Added latency" is the time a request spends in
GetItems; "from memory" is a lookup answered without fetching its hostname
(per-host) or a shard never loaded (shards: polls of the head and refetches
on the request path are counted in read units and latency, and in
"no read", the share of requests that made no GetItem at all). Staleness of a
change is the time from the change until no live container still answers
the old state.

Not modelled: CloudFront's own cache in front of the function (only its misses
reach the function), unknown hostnames, DynamoDB errors.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edge_function import shards as layout
from edge_function.cache import EdgeCache
from edge_function.shard_cache import ShardCache

RATE = 200.0
CONTAINERS = 20
ZIPF_S = 1.1
SIZES = (2_000, 100_000, 1_000_000)
TTLS = (60, 300, 900)
LIFETIME = (5 * 60.0, 60 * 60.0)
WARMUP = 15 * 60.0
POLL = 10.0
DEBOUNCE = 1.0
DELTA_WINDOW = 120.0
MAX_DELTA_HOSTS = 200
TARGET_SHARD_BYTES = 192 * 1024
ITEM_OVERHEAD = 100  # key, version and the other small attributes of an item
HOST_ITEM_BYTES = 130
GET_MS = 8.0
MS_PER_100KB = 1.0
WS = "ws"  # what a served hostname maps to inside the simulation (sizes use the real ids)


def read_units(size: int) -> float:
    return math.ceil(size / 4096) * 0.5


def get_ms(size: int) -> float:
    return GET_MS + MS_PER_100KB * size / 102_400


def percentile(values: list[float], q: float, total: int | None = None) -> float:
    """q-quantile of `values` padded with zeros up to `total` items (requests without a read)."""
    total = len(values) if total is None else total
    if not total:
        return 0.0
    rank = min(total - 1, math.ceil(q * total) - 1)
    zeros = total - len(values)
    if rank < zeros:
        return 0.0
    return sorted(values)[rank - zeros]


# --- The world: hostnames, trace, containers and changes (identical for every mode) ---------------


class World:
    """Request i arrives at (i + 1) / RATE - warmup; the first `warm` requests only warm the containers."""

    def __init__(self, n_hosts: int, n_requests: int, seed: int, change_every: float, warmup: float) -> None:
        rng = random.Random(seed * 7919 + n_hosts)
        self.n_hosts = n_hosts
        self.warmup = warmup
        self.warm = int(warmup * RATE)
        self.measured = n_requests
        self.hosts = _hostnames(n_hosts, rng)
        self.workspaces = _workspaces(n_hosts, rng)
        self.hashes = [layout.shard_hash(host) for host in self.hosts]
        weights = [1.0 / (rank**ZIPF_S) for rank in range(1, n_hosts + 1)]
        cum = list(itertools.accumulate(weights))
        by_rank = list(range(n_hosts))
        rng.shuffle(by_rank)  # popularity has nothing to do with the name (or its shard)
        total = self.warm + n_requests
        self.trace = [by_rank[r] for r in rng.choices(range(n_hosts), cum_weights=cum, k=total)]
        self.slots = [rng.randrange(CONTAINERS) for _ in range(total)]
        self.span = n_requests / RATE
        self.lifetimes: list[list[float]] = []  # per slot: the end of each container in turn
        for _ in range(CONTAINERS):
            end = -warmup + rng.uniform(*LIFETIME)
            ends = [end]
            while end < self.span:
                end += rng.uniform(*LIFETIME)
                ends.append(end)
            self.lifetimes.append(ends)
        self.changes: list[tuple[float, int]] = []
        margin = min(30.0, self.span / 10)  # changes land inside the measured span, with time to be seen
        t = margin
        while True:
            t += rng.expovariate(1.0 / change_every)
            if t >= self.span - margin:
                break
            self.changes.append((t, by_rank[rng.choices(range(n_hosts), cum_weights=cum)[0]]))
        # Bytes per hostname in a compressed shard, from a sample: what K is chosen from.
        sample = dict(zip(self.hosts[:20_000], self.workspaces[:20_000], strict=False))
        data, _ = layout.encode_shard(sample)
        self.bytes_per_host = len(data) / len(sample)
        self.k = max(1, math.ceil(self.bytes_per_host * n_hosts / TARGET_SHARD_BYTES))


def _hostnames(count: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    prefixes = ["gallery.", "photos.", "www.", "portfolio.", "studio.", "", "", ""]
    tlds = ["com"] * 6 + ["co.uk", "de", "net", "photography", "studio", "fr", "com.au", "nl", "io"]
    seen: set[str] = set()
    hosts: list[str] = []
    while len(hosts) < count:
        name = "".join(rng.choices(letters, k=rng.randint(5, 14)))
        if rng.random() < 0.2:
            name += "-" + "".join(rng.choices(letters, k=rng.randint(3, 8)))
        host = f"{rng.choice(prefixes)}{name}.{rng.choice(tlds)}"
        if host not in seen:
            seen.add(host)
            hosts.append(host)
    return hosts


def _workspaces(count: int, rng: random.Random) -> list[str]:
    """Workspace ids as the portal makes them (ws_ + 16 hex); most workspaces hold one or two hostnames."""
    ids = []
    current = ""
    for _ in range(count):
        if not current or rng.random() < 0.7:
            current = f"ws_{rng.getrandbits(64):016x}"
        ids.append(current)
    rng.shuffle(ids)
    return ids


# --- Per-host TTL mode --------------------------------------------------------------------------


def run_host_mode(world: World, ttl: float, seed: int, outbox_delay: float) -> dict:
    served = bytearray(b"\x01") * world.n_hosts  # what the table's host items say
    events = [(t0 + outbox_delay, t0, host) for t0, host in world.changes]
    events.sort()
    ev = 0
    caches: list[EdgeCache | None] = [None] * CONTAINERS
    ends = [0.0] * CONTAINERS
    life = [0] * CONTAINERS
    reads = hits = containers = 0
    staleness: list[float] = []
    step = 1.0 / RATE
    host_ms = get_ms(HOST_ITEM_BYTES)

    def fresh_cache(c: int) -> EdgeCache:
        return EdgeCache(positive_ttl=ttl, negative_ttl=30, jitter=0.1, rng=random.Random(seed * 1000 + c))

    for c in range(CONTAINERS):
        caches[c] = fresh_cache(c)
        ends[c] = world.lifetimes[c][0]
        containers += world.warmup == 0  # cold starts in the measured part
    warm, offset = world.warm, world.warmup
    for i, (host, slot) in enumerate(zip(world.trace, world.slots, strict=True)):
        now = (i + 1) * step - offset
        while ev < len(events) and events[ev][0] <= now:
            written, t0, changed = events[ev]
            ev += 1
            served[changed] ^= 1
            # Each live container holding an answer for the hostname keeps it until it expires (or dies).
            until = written
            for c in range(CONTAINERS):
                entry = caches[c].peek(changed)
                if entry is not None and entry[1] > written:
                    until = max(until, min(entry[1], ends[c]))
            staleness.append(until - t0)
        while now >= ends[slot]:
            life[slot] += 1
            ends[slot] = world.lifetimes[slot][life[slot]]
            caches[slot] = fresh_cache(slot * 7 + life[slot])
            containers += now >= 0
        cache = caches[slot]
        if cache.get(host, now) is None:
            reads += i >= warm
            cache.put(host, WS if served[host] else None, now)
        else:
            hits += i >= warm
    requests = world.measured
    return {
        "requests": requests,
        "reads": reads,
        "memory_share": hits / requests,
        "no_read_share": hits / requests,
        "rru": reads * read_units(HOST_ITEM_BYTES),
        "added_latency_p99_ms": percentile([host_ms] * reads, 0.99, requests),
        "staleness": staleness,
        "containers": containers,
        "distinct_hosts": len(set(world.trace[warm:])),
    }


# --- Shard mode ---------------------------------------------------------------------------------


class SimTable:
    """The shard and head items as the portal would have them, with read units and latency counted.

    The maps hold host numbers (the sizes come from encoding the real hostnames
    and workspace ids); they are shared by every container that loads them,
    which the cache never changes in place."""

    def __init__(self, world: World, k: int, deltas: bool) -> None:
        self.world = world
        self.k = k
        self.deltas_on = deltas
        self.members: list[dict[int, str]] = [{} for _ in range(k)]
        for host, value in enumerate(world.hashes):
            self.members[layout.shard_of_hash(value, k)][host] = world.workspaces[host]
        self.maps = [dict.fromkeys(m, WS) for m in self.members]
        self.sizes = [self._encoded_size(index) for index in range(k)]
        self.versions = [1] * k
        self.recent: list[tuple[float, int, int, int, dict[int, str]]] = []  # (written, index, from, to, changes)
        self.head_version = 1
        self._refresh_head(0.0)
        self.rru = 0.0
        self.request_ms = 0.0
        self.head_reads = self.shard_reads = 0

    def _encoded_size(self, index: int) -> int:
        hosts = self.world.hosts
        data, _ = layout.encode_shard({hosts[h]: ws for h, ws in self.members[index].items()})
        return len(data) + ITEM_OVERHEAD

    def _refresh_head(self, now: float) -> None:
        self.recent = [d for d in self.recent if d[0] >= now - DELTA_WINDOW]
        deltas = {(i, a): (i, a, b, changes) for _, i, a, b, changes in self.recent}
        self.head = layout.Head(self.k, self.head_version, list(self.versions), deltas)
        hosts = self.world.hosts
        real = [
            (i, a, b, {hosts[h]: ("ws_0123456789abcdef" if w else "") for h, w in c.items()})
            for _, i, a, b, c in self.recent
        ]
        self.head_size = len(layout.encode_head(self.k, self.versions, real)) + ITEM_OVERHEAD

    def write(self, index: int, changes: dict[int, bool], now: float) -> int:
        """A build of shard `index` lands: the new map, the next version, the head. Returns the version."""
        before = self.versions[index]
        mapping = dict(self.maps[index])
        delta: dict[int, str] = {}
        for host, serve in changes.items():
            if serve:
                mapping[host] = WS
                self.members[index][host] = self.world.workspaces[host]
            else:
                mapping.pop(host, None)
                self.members[index].pop(host, None)
            delta[host] = WS if serve else ""
        self.maps[index] = mapping
        self.sizes[index] = self._encoded_size(index)
        self.versions[index] = before + 1
        if self.deltas_on and len(delta) <= MAX_DELTA_HOSTS:
            self.recent.append((now, index, before, before + 1, delta))
        self.head_version += 1
        self._refresh_head(now)
        return before + 1

    def tick(self, now: float) -> None:
        """Deltas older than the window leave the head (as the portal's next head write drops them)."""
        if self.recent and self.recent[0][0] < now - DELTA_WINDOW:
            self._refresh_head(now)

    # the ShardCache source interface
    def head_read(self, deadline=None) -> layout.Head:
        self.head_reads += 1
        self.rru += read_units(self.head_size)
        self.request_ms += get_ms(self.head_size)
        return self.head

    def shard(self, count: int, index: int, deadline=None) -> layout.Shard:
        self.shard_reads += 1
        size = self.sizes[index]
        self.rru += read_units(size)
        self.request_ms += get_ms(size)
        return layout.Shard(count, index, self.versions[index], self.maps[index], size)


class _Source:
    def __init__(self, table: SimTable) -> None:
        self.head = table.head_read
        self.shard = table.shard


def run_shard_mode(world: World, k: int, deltas: bool, build_delay: float, write_delay: float) -> dict:
    table = SimTable(world, k, deltas)
    source = _Source(table)
    db_served = bytearray(b"\x01") * world.n_hosts
    index_of = [layout.shard_of_hash(value, k) for value in world.hashes]
    # Portal events: (time, order, kind, payload); kinds: change, build, write.
    events: list = []
    order = itertools.count()
    for t0, host in world.changes:
        heapq.heappush(events, (t0, next(order), "change", host))
    last_build = [-math.inf] * k
    pending_build: dict[int, list[tuple[float, int]]] = {}  # index -> changes (t0, host) waiting for its build
    change_t0: list[float] = []
    stale_until: list[float] = []
    # Per container: pending refreshes (version, index, change ids) still to reach it.
    pending: list[list[tuple[int, int, list[int]]]] = [[] for _ in range(CONTAINERS)]
    caches: list[ShardCache] = []
    ends = [0.0] * CONTAINERS
    life = [0] * CONTAINERS
    totals = {"loads": 0, "refetches": 0, "deltas_applied": 0, "polls": 0}
    containers = 0

    def retire(cache: ShardCache) -> None:
        for key in totals:
            totals[key] += getattr(cache, key)

    def counted() -> dict:
        return {key: totals[key] + sum(getattr(cache, key) for cache in caches) for key in totals}

    def fresh() -> ShardCache:
        return ShardCache(source, poll_seconds=POLL, failure_backoff=5.0)

    for c in range(CONTAINERS):
        caches.append(fresh())
        ends[c] = world.lifetimes[c][0]
        containers += world.warmup == 0  # cold starts in the measured part
    latencies: list[float] = []
    from_memory = 0
    step = 1.0 / RATE
    warm, offset = world.warm, world.warmup
    baseline = {"rru": 0.0, "head_reads": 0, "shard_reads": 0, **dict.fromkeys(totals, 0)}
    for i, (host, slot) in enumerate(zip(world.trace, world.slots, strict=True)):
        now = (i + 1) * step - offset
        if i == warm:  # the measured requests start: what the warm-up cost is not counted
            baseline = {"rru": table.rru, "head_reads": table.head_reads, "shard_reads": table.shard_reads, **counted()}
        while events and events[0][0] <= now:
            at, _, kind, payload = heapq.heappop(events)
            if kind == "change":
                db_served[payload] ^= 1
                cid = len(change_t0)
                change_t0.append(at)
                stale_until.append(at)
                index = index_of[payload]
                if index not in pending_build:
                    pending_build[index] = []
                    begins = max(at + build_delay, last_build[index] + DEBOUNCE)
                    heapq.heappush(events, (begins, next(order), "build", index))
                pending_build[index].append((cid, payload))
            elif kind == "build":
                last_build[payload] = at
                batch = pending_build.pop(payload)
                # The build reads the database now: every change so far is in it.
                changes = {h: bool(db_served[h]) for _, h in batch}
                heapq.heappush(events, (at + write_delay, next(order), "write", (payload, changes, batch)))
            else:
                index, changes, batch = payload
                version = table.write(index, changes, at)
                ids = [cid for cid, _ in batch]
                for cid in ids:
                    stale_until[cid] = max(stale_until[cid], at)
                for c in range(CONTAINERS):
                    cache = caches[c]
                    if cache.count == k and cache.maps[index] is not None and cache.versions[index] < version:
                        pending[c].append((version, index, ids))
        table.tick(now)
        while now >= ends[slot]:
            for _version, _index, ids in pending[slot]:  # it answered the old state until it died
                for cid in ids:
                    stale_until[cid] = max(stale_until[cid], ends[slot])
            pending[slot] = []
            retire(caches[slot])
            life[slot] += 1
            ends[slot] = world.lifetimes[slot][life[slot]]
            caches[slot] = fresh()
            containers += now >= 0
        cache = caches[slot]
        loads_before = cache.loads
        table.request_ms = 0.0
        cache.lookup(host, index_of[host] if cache.count else 0, now)
        if i >= warm:
            if cache.loads == loads_before:
                from_memory += 1
            if table.request_ms:
                latencies.append(table.request_ms)
        waiting = pending[slot]
        if waiting:
            still = []
            for version, index, ids in waiting:
                if cache.versions[index] >= version:
                    for cid in ids:
                        stale_until[cid] = max(stale_until[cid], now)
                else:
                    still.append((version, index, ids))
            pending[slot] = still
    end = counted()
    requests = world.measured
    head_reads = table.head_reads - baseline["head_reads"]
    shard_reads = table.shard_reads - baseline["shard_reads"]
    return {
        "requests": requests,
        "reads": head_reads + shard_reads,
        "shard_reads": shard_reads,
        "head_reads": head_reads,
        "memory_share": from_memory / requests,
        "no_read_share": 1 - len(latencies) / requests,
        "rru": table.rru - baseline["rru"],
        "added_latency_p99_ms": percentile(latencies, 0.99, requests),
        "added_latency_max_ms": max(latencies, default=0.0),
        "staleness": [until - t0 for t0, until in zip(change_t0, stale_until, strict=True)],
        "containers": containers,
        "max_shard_kb": max(table.sizes) / 1024,
        **{key: end[key] - baseline[key] for key in totals},
    }


# --- The report -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="hostname counts, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--change-every", type=float, default=30.0, help="mean seconds between injected changes")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="seconds of requests before the measured ones")
    parser.add_argument("--outbox-delay", type=float, default=0.2, help="change -> host item written (s)")
    parser.add_argument("--build-delay", type=float, default=0.2, help="change -> shard build starts (s)")
    parser.add_argument("--write-delay", type=float, default=0.1, help="shard build -> shard and head written (s)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    started = time.perf_counter()
    rows = []
    worlds = {}
    for n_hosts in sizes:
        world = worlds[n_hosts] = World(n_hosts, args.requests, args.seed, args.change_every, args.warmup)
        for ttl in TTLS:
            rows.append(
                {"hosts": n_hosts, "mode": f"{ttl}s", **run_host_mode(world, ttl, args.seed, args.outbox_delay)}
            )
        for mode, deltas in (("shards", True), ("shards_nodelta", False)):
            result = run_shard_mode(world, world.k, deltas, args.build_delay, args.write_delay)
            rows.append({"hosts": n_hosts, "mode": mode, "k": world.k, **result})
    elapsed = time.perf_counter() - started

    span = args.requests / RATE
    print(
        f"Edge lookups: {args.requests:,} requests, Zipf s={ZIPF_S}, {RATE:.0f} req/s ({span:,.0f} simulated s), "
        f"{CONTAINERS} containers living {LIFETIME[0] / 60:.0f}-{LIFETIME[1] / 60:.0f} min "
        f"(after {args.warmup / 60:g} min of warm-up), "
        f"a change every {args.change_every:g} s on average; shards polled every {POLL:g} s"
    )
    print(
        f"{'hostnames':>10} {'mode':>15} {'K':>4} {'from memory':>12} {'no read':>8} {'reads/1M':>9} "
        f"{'RRU/1M':>9} {'p99 ms':>7} {'stale p99 s':>11} {'stale max s':>11}"
    )
    figures: dict[str, float] = {}
    for row in rows:
        stale = row["staleness"]
        p99 = percentile(stale, 0.99) if stale else 0.0
        per_million = 1_000_000 / row["requests"]
        print(
            f"{row['hosts']:>10,} {row['mode']:>15} {row.get('k', ''):>4} {row['memory_share']:>11.3%} "
            f"{row['no_read_share']:>7.2%} {row['reads'] * per_million:>9,.0f} {row['rru'] * per_million:>9,.0f} "
            f"{row['added_latency_p99_ms']:>7.1f} {p99:>11.1f} {max(stale, default=0):>11.1f}"
        )
        key = f"{row['hosts']}h_{row['mode']}"
        figures[f"memory_share_{key}"] = round(row["memory_share"], 5)
        figures[f"no_read_share_{key}"] = round(row["no_read_share"], 5)
        figures[f"reads_{key}"] = row["reads"]
        figures[f"reads_per_million_{key}"] = round(row["reads"] * per_million)
        figures[f"rru_per_million_{key}"] = round(row["rru"] * per_million, 1)
        figures[f"added_latency_p99_ms_{key}"] = round(row["added_latency_p99_ms"], 2)
        figures[f"staleness_p99_s_{key}"] = round(p99, 2)
        figures[f"staleness_max_s_{key}"] = round(max(stale, default=0.0), 2)
        figures[f"changes_{key}"] = len(stale)
        figures[f"containers_{key}"] = row["containers"]
        if "k" in row:
            figures[f"shard_count_{key}"] = row["k"]
            figures[f"max_shard_kb_{key}"] = round(row["max_shard_kb"], 1)
            figures[f"shard_loads_{key}"] = row["loads"]
            figures[f"shard_refetches_{key}"] = row["refetches"]
            figures[f"deltas_applied_{key}"] = row["deltas_applied"]
            figures[f"polls_{key}"] = row["polls"]

    print(
        "\n'from memory': shards count a lookup that fetched a shard never loaded; per-host counts every miss. "
        "'no read': requests that made no GetItem at all (head polls included)."
    )
    for n_hosts in sizes:
        world = worlds[n_hosts]
        print(
            f"  {n_hosts:>9,} hostnames: {world.bytes_per_host:.1f} compressed bytes a hostname, K = {world.k}, "
            f"{len(world.changes)} changes, {figures[f'containers_{n_hosts}h_shards']} containers"
        )
    print("\nGoals:")
    for n_hosts, share_goal in ((100_000, 0.999), (1_000_000, 0.99)):
        if n_hosts not in sizes:
            continue
        share = figures[f"memory_share_{n_hosts}h_shards"]
        print(
            f"  shards at {n_hosts:,}: from memory {share:.3%} (goal >= {share_goal:.1%}): {_verdict(share >= share_goal)}"
        )
        if n_hosts == 100_000:
            fewer = 1 - figures["rru_per_million_100000h_shards"] / figures["rru_per_million_100000h_300s"]
            figures["rru_fewer_than_300s_100000h_shards"] = round(fewer, 4)
            print(
                f"  shards at 100,000: {fewer:.1%} fewer read units than per-host TTL 300 s (goal >= 90%): {_verdict(fewer >= 0.9)}"
            )
            stale = figures["staleness_p99_s_100000h_shards"]
            print(
                f"  shards at 100,000: staleness p99 {stale:.1f} s (goal <= {POLL + 2:g} s): {_verdict(stale <= POLL + 2)}"
            )
    print(f"(simulated in {elapsed:.1f} s)")
    figures["poll_seconds"] = POLL
    figures["elapsed_s"] = round(elapsed, 1)
    print(json.dumps(figures))


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    main()
