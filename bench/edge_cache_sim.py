"""How many DynamoDB reads does the edge cache save? A trace-driven simulation.

    .venv/bin/python bench/edge_cache_sim.py [--requests 1000000] [--seed 1]

A Zipf(s = 1.1) trace of requests over N hostnames arrives at 200 requests/s
(so 1,000,000 requests span 5,000 simulated seconds, about 83 minutes) and is
spread uniformly at random over 20 simulated Lambda@Edge containers, each with
its own cache. Every request drives the real ``edge_function.cache.EdgeCache``
(the same get/put the handler uses, defaults: 50,000 entries, 10 % jitter)
with a simulated clock; a miss counts as one DynamoDB GetItem and stores the
answer. Run for N = 2,000 and 100,000 and for positive TTLs of 60, 300, 900 s.

Not modelled (each makes real numbers worse or better, see the closing note):
container recycling and scale-out (cold caches), CloudFront's own cache in
front of the function (only CloudFront misses reach it), unknown hosts.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edge_function.cache import EdgeCache

RATE = 200.0
CONTAINERS = 20
ZIPF_S = 1.1
HOSTNAME_COUNTS = (2_000, 100_000)
TTLS = (60, 300, 900)


def zipf_trace(n_hosts: int, n_requests: int, rng: random.Random) -> list[int]:
    weights = [1.0 / (rank**ZIPF_S) for rank in range(1, n_hosts + 1)]
    cum = list(itertools.accumulate(weights))
    return rng.choices(range(n_hosts), cum_weights=cum, k=n_requests)


def simulate(trace: list[int], containers: list[int], hosts: list[str], ttl: float, seed: int) -> dict:
    caches = [
        EdgeCache(
            positive_ttl=ttl,
            negative_ttl=30,
            jitter=0.1,
            rng=random.Random(seed * 1000 + c),
        )
        for c in range(CONTAINERS)
    ]
    reads = 0
    step = 1.0 / RATE
    now = 0.0
    for index, container in zip(trace, containers, strict=False):
        now += step
        cache = caches[container]
        host = hosts[index]
        if cache.get(host, now) is None:
            reads += 1  # one GetItem on the nearest replica
            cache.put(host, "ws", now)
    requests = len(trace)
    return {
        "requests": requests,
        "reads": reads,
        "memory_share": 1 - reads / requests,
        "reads_per_million": reads * 1_000_000 / requests,
        "evictions": sum(c.evictions for c in caches),
        "distinct_hosts": len(set(trace)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = []
    for n_hosts in HOSTNAME_COUNTS:
        rng = random.Random(args.seed + n_hosts)
        trace = zipf_trace(n_hosts, args.requests, rng)
        containers = [rng.randrange(CONTAINERS) for _ in range(args.requests)]
        hosts = [f"h{i}.client-domain.com" for i in range(n_hosts)]
        for ttl in TTLS:
            rows.append(
                {
                    "hosts": n_hosts,
                    "ttl": ttl,
                    **simulate(trace, containers, hosts, ttl, args.seed),
                }
            )
    elapsed = time.perf_counter() - started

    span = args.requests / RATE
    print(
        f"Edge cache simulation: {args.requests:,} requests, Zipf s={ZIPF_S}, {RATE:.0f} req/s "
        f"({span:,.0f} simulated s), {CONTAINERS} containers, 10 % jitter"
    )
    print(
        f"{'hostnames':>10} {'TTL s':>6} {'distinct':>9} {'from memory':>12} {'DynamoDB reads':>15} {'reads/1M req':>13} {'reads/s':>8}"
    )
    figures: dict[str, float] = {}
    for row in rows:
        print(
            f"{row['hosts']:>10,} {row['ttl']:>6} {row['distinct_hosts']:>9,} {row['memory_share']:>11.1%} "
            f"{row['reads']:>15,} {row['reads_per_million']:>13,.0f} {row['reads'] / span:>8.1f}"
        )
        key = f"{row['hosts']}h_{row['ttl']}s"
        figures[f"memory_share_{key}"] = round(row["memory_share"], 4)
        figures[f"reads_{key}"] = row["reads"]
        figures[f"reads_per_million_{key}"] = round(row["reads_per_million"])
    print(
        "\nWithout a cache every request is one read (1,000,000 per million). The promised "
        "'95 % fewer reads' means a memory share of at least 95 %:"
    )
    for row in rows:
        verdict = "met" if row["memory_share"] >= 0.95 else "NOT met"
        print(
            f"  {row['hosts']:>7,} hostnames, TTL {row['ttl']:>3} s: {row['memory_share']:.1%} fewer reads -> {verdict}"
        )
    print(f"(simulated in {elapsed:.1f} s)")
    figures["elapsed_s"] = round(elapsed, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
