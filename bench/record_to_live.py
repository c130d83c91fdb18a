"""Record to live: how long after a tenant publishes their DNS record is the domain served at the edge, over HTTPS?

Starts the real stack (the Procfile of `make run`, default settings except
short edge-cache TTLs) on free ports, adds 20 domains through the API as alice,
publishes each one's CNAME at a random moment within the first 3 minutes after
its creation, and measures from the publication to the first request served
through the local CloudFront stand-in with alice's workspace, over HTTP and
over HTTPS (the certificate pebble issued, verified against var's edge-ca.pem).

    .venv/bin/python bench/record_to_live.py [--domains 20] [--window 180] [--seed 7]

Goal: p95 at most 30 s. As a baseline the run also prints the bound the
schedule implies (the pending check interval plus the dispatcher period).
Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devstack.client import (  # noqa: E402
    PortalSession,
    free_ports,
    publish,
    through_edge,
    through_edge_https,
    workspace_public_id,
)
from devstack.stack import Stack, stop  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument(
        "--window", type=float, default=180.0, help="records are published within this many seconds of creation"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    var_dir = Path(tempfile.mkdtemp(prefix="record-to-live-"))
    stack = Stack(ports=free_ports(), var_dir=var_dir, edge_positive_ttl=5.0, edge_negative_ttl=1.0)
    stack.prepare()
    process = stack.start(var_dir / "stack.log")
    latencies: dict[str, float] = {}  # to HTTPS served
    http_latencies: dict[str, float] = {}
    try:
        stack.wait_until_up(timeout=120)
        alice = PortalSession(stack, "alice", "ve-demo-2026")
        acme = workspace_public_id(stack, "Acme Photo")
        print(f"stack up on {stack.ports}; logs in {var_dir / 'stack.log'}", flush=True)

        def journey(index: int) -> None:
            hostname = f"g{index}.bench-client.com"
            domain = alice.add_domain(hostname)
            time.sleep(rng.uniform(0, args.window))
            publish(stack, hostname, "CNAME", domain["target"])
            published = time.monotonic()
            while time.monotonic() - published < 300:
                if hostname not in http_latencies:
                    status, page = through_edge(stack, hostname)
                    if status == 200 and page and page["workspace_id"] == acme:
                        http_latencies[hostname] = time.monotonic() - published
                status, page = through_edge_https(stack, hostname)
                if status == 200 and page and page["workspace_id"] == acme:
                    latencies[hostname] = time.monotonic() - published
                    http_latencies.setdefault(hostname, latencies[hostname])
                    print(
                        f"  {hostname:<26} HTTP {http_latencies[hostname]:5.1f} s, HTTPS {latencies[hostname]:5.1f} s "
                        "after its record was published",
                        flush=True,
                    )
                    return
                time.sleep(0.25)
            print(f"  {hostname:<26} NOT live 300 s after publication", flush=True)

        threads = [threading.Thread(target=journey, args=(i,)) for i in range(args.domains)]
        for thread in threads:
            thread.start()
            time.sleep(0.2)
        for thread in threads:
            thread.join()
    finally:
        stop(process)

    os.environ.setdefault("DEBUG", "true")  # the development defaults, as the stack ran with (devstack sets it)
    from portal import settings as portal_settings  # the defaults the stack ran with

    bound = portal_settings.DOMAIN_PENDING_FAST_INTERVAL + portal_settings.DOMAIN_CHECK_DISPATCH_PERIOD
    values = list(latencies.values())
    figures = {
        "domains": args.domains,
        "live": len(values),
        "p50_seconds": round(statistics.median(values), 2) if values else None,
        "p95_seconds": round(percentile(values, 0.95), 2) if values else None,
        "max_seconds": round(max(values), 2) if values else None,
        "http_p50_seconds": round(statistics.median(http_latencies.values()), 2) if http_latencies else None,
        "http_p95_seconds": round(percentile(list(http_latencies.values()), 0.95), 2) if http_latencies else None,
        "schedule_bound_seconds": bound,
    }
    print(f"\n{len(values)}/{args.domains} domains live over HTTPS; publication → first served request:")
    print(f"  p50 {figures['p50_seconds']} s   p95 {figures['p95_seconds']} s   max {figures['max_seconds']} s")
    print(f"  over HTTP: p50 {figures['http_p50_seconds']} s   p95 {figures['http_p95_seconds']} s")
    print(f"  baseline: the schedule's bound (pending interval + dispatcher period) is {bound:.0f} s; goal p95 ≤ 30 s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
