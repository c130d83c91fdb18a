"""How many pending domains per second the DNS checker verifies.

    .venv/bin/python bench/verify_throughput.py [--domains 5000] [--latency-ms 20] [--concurrency 128]

Starts devdns on a free loopback port in its own process (so the server does
not compete with the checker for this process's GIL), adds LATENCY ms to every
answer, and publishes records for N pending domains, each in its own zone:

  90 %  gallery.studioNNNN.example  CNAME <token>.domain.ve.ai     -> verified
   5 %  gallery.studioNNNN.example  CNAME studioNNNN.photo-host.example (a
        shared provider zone holding A records)                     -> wrong_target
   5 %  no record, only www.studioNNNN.example so the zone exists   -> missing

The checker starts with cold caches, so every domain costs a zone discovery
(one NS query) plus its CNAME query, and wrong targets one more hop. A second
pass over the same domains shows the warm-cache rate of routine re-checks.

For comparison, a naive loop calls dns.resolver.resolve(name, "CNAME") for
one name after another against the same server. It needs LATENCY ms per name
whatever the name, so it is timed on a sample (--naive-sample, default 200).

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.resolver

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devdns.store import Record, Store  # after sys.path: run as a script
from domains.dns import CheckRequest, DnsConfig, DomainChecker

CNAME_ZONE = "domain.ve.ai"


def build_domains(
    count: int,
) -> tuple[list[CheckRequest], list[Record], collections.Counter]:
    requests, records, expected = [], [], collections.Counter()
    for i in range(count):
        zone = f"studio{i:05d}.example"
        hostname = f"gallery.{zone}"
        token = f"tok{i:05d}"
        requests.append(CheckRequest(hostname=hostname, token=token))
        kind = i % 20
        if kind == 0:
            records.append(Record(hostname, "CNAME", f"{zone.split('.')[0]}.photo-host.example."))
            records.append(Record(f"{zone.split('.')[0]}.photo-host.example", "A", "203.0.113.7"))
            expected["wrong_target"] += 1
        elif kind == 1:
            records.append(Record(f"www.{zone}", "A", "203.0.113.8"))
            expected["missing"] += 1
        else:
            records.append(Record(hostname, "CNAME", f"{token}.{CNAME_ZONE}."))
            expected["verified"] += 1
    return requests, records, expected


def start_server(state: Path) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "devdns.server", "--port", "0", "--state", str(state)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()  # "devdns listening on 127.0.0.1:PORT ..."
    if "listening on" not in line:
        server.kill()
        raise SystemExit(f"devdns did not start: {line!r}")
    port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
    return server, port


def naive_loop(names: list[str], port: int) -> float:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.lifetime = 2.0
    started = time.perf_counter()
    for name in names:
        try:
            resolver.resolve(name, "CNAME")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            pass
    return len(names) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--naive-sample", type=int, default=200)
    args = parser.parse_args()

    requests, records, expected = build_domains(args.domains)
    with tempfile.TemporaryDirectory(prefix="devdns-bench-") as tmp:
        state = Path(tmp) / "devdns.json"
        store = Store(state)
        store.replace_records(records)
        store.set_latency(args.latency_ms)
        server, port = start_server(state)
        try:
            checker = DomainChecker(
                DnsConfig(
                    resolvers=(("127.0.0.1", port),),
                    nameserver_port=port,
                    timeout=2.0,
                    allow_private_nameservers=True,  # devdns is on loopback
                    cname_zone=CNAME_ZONE,
                )
            )
            started = time.perf_counter()
            results = checker.check_many(requests, concurrency=args.concurrency)
            checker_rate = len(results) / (time.perf_counter() - started)
            # Pending domains are re-checked every 15 s, well within the 60 s
            # zone cache: the second pass is the steady state of a worker.
            started = time.perf_counter()
            checker.check_many(requests, concurrency=args.concurrency)
            warm_rate = len(requests) / (time.perf_counter() - started)

            sample = [r.hostname for r in requests[: args.naive_sample]]
            naive_rate = naive_loop(sample, port)
        finally:
            server.terminate()
            server.wait(timeout=10)

    outcomes = collections.Counter(r.outcome.value for r in results)
    print(f"{args.domains} pending domains, {args.latency_ms} ms added to every DNS answer, loopback")
    print(f"published: {dict(expected)}")
    print(f"checker outcomes: {dict(outcomes)}")
    print(f"checker (check_many, {args.concurrency} threads, cold caches): {checker_rate:,.0f} domains/s")
    print(f"checker again, zone caches warm (the steady state of re-checks): {warm_rate:,.0f} domains/s")
    print(f"naive sequential dns.resolver.resolve, first {len(sample)} names: {naive_rate:,.1f} domains/s")
    print(f"speedup: {checker_rate / naive_rate:,.1f}x  (cpus: {os.cpu_count()})")
    if outcomes != expected:
        print("WARNING: outcomes differ from what was published", file=sys.stderr)
    print(
        json.dumps(
            {
                "checker_domains_per_s": round(checker_rate, 1),
                "naive_domains_per_s": round(naive_rate, 1),
                "speedup": round(checker_rate / naive_rate, 1),
                "checker_warm_domains_per_s": round(warm_rate, 1),
                "speedup_warm": round(warm_rate / naive_rate, 1),
            }
        )
    )
    return 0 if outcomes == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
