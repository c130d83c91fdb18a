"""How long one check can take against a tenant's hostile name servers, and what honest checks beside it see.

    .venv/bin/python bench/verify_hostile.py [--timeout 2.0] [--deadline 10.0] [--honest 50]

Two devdns servers on one port: 127.0.0.1 plays the internet (and the
resolver), 127.0.0.2 the tenant's three name servers for evil-tenant.com.
The tenant's domain is a chain of eight CNAME hops; for every hop its servers
answer just under the per-query timeout, truncated over UDP (so each question
costs a UDP and a TCP wait), with a referral back to themselves; the resolver
answers each hop just under the timeout too. Without a deadline the check
ends (verified) after minutes; with DNS_CHECK_DEADLINE it ends, transient, at
the deadline.

The same batch holds --honest ordinary domains (verified at once): the
figure is when the batch hands out their results (check_as_completed), not
when the hostile one ends.

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devdns.store import Fault, Store  # after sys.path: run as a script
from domains.dns import CheckRequest, DnsConfig, DomainChecker

CNAME_ZONE = "domain.ve.ai"
TENANT_ZONE = "evil-tenant.com"
HOSTILE_HOST = "127.0.0.2"


def free_port_on_both() -> int:
    """A port free for UDP and TCP on 127.0.0.1 and 127.0.0.2 alike."""
    while True:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            for host in ("127.0.0.1", HOSTILE_HOST):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind((host, port))
        except OSError:
            continue
        return port


def start_server(state: Path, host: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "devdns.server", "--port", str(port), "--state", str(state), "--host", host],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    if "listening on" not in line:
        server.kill()
        raise SystemExit(f"devdns did not start on {host}:{port}: {line!r}")
    return server


def publish(internet: Store, tenant: Store, *, timeout: float, honest: int) -> tuple[str, list[CheckRequest]]:
    slow_ms = int(timeout * 950)  # just under the per-query timeout
    for i in (1, 2, 3):
        internet.add(TENANT_ZONE, "NS", f"ns{i}.{TENANT_ZONE}")
        internet.add(f"ns{i}.{TENANT_ZONE}", "A", HOSTILE_HOST)
    hops = [f"h{i}.{TENANT_ZONE}" for i in range(8)]
    for here, there in zip(hops, [*hops[1:], f"tok.{CNAME_ZONE}"], strict=True):
        internet.add(here, "CNAME", there)
        internet.set_fault(here, Fault(latency_ms=slow_ms))
        tenant.set_fault(here, Fault(latency_ms=slow_ms, truncate=True, refer=TENANT_ZONE))
    requests = [CheckRequest(hostname=hops[0], token="tok")]
    for i in range(honest):
        hostname = f"gallery.studio{i:03d}.com"
        internet.add(hostname, "CNAME", f"t{i}.{CNAME_ZONE}")
        requests.append(CheckRequest(hostname=hostname, token=f"t{i}"))
    return hops[0], requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=2.0, help="DNS_TIMEOUT, per query (s)")
    parser.add_argument("--deadline", type=float, default=10.0, help="DNS_CHECK_DEADLINE, per check (s)")
    parser.add_argument("--honest", type=int, default=50, help="ordinary domains in the same batch")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="devdns-hostile-") as tmp:
        internet, tenant = Store(Path(tmp) / "internet.json"), Store(Path(tmp) / "tenant.json")
        hostile, requests = publish(internet, tenant, timeout=args.timeout, honest=args.honest)
        port = free_port_on_both()
        servers = [start_server(internet.path, "127.0.0.1", port), start_server(tenant.path, HOSTILE_HOST, port)]
        try:
            checker = DomainChecker(
                DnsConfig(
                    resolvers=(("127.0.0.1", port),),
                    nameserver_port=port,
                    timeout=args.timeout,
                    deadline=args.deadline,
                    allow_private_nameservers=True,  # devdns is on loopback
                    cname_zone=CNAME_ZONE,
                )
            )
            started = time.monotonic()
            ended_at: dict[str, float] = {}
            outcomes: dict[str, str] = {}
            for ended in checker.check_as_completed(requests, concurrency=64):
                now = time.monotonic() - started
                for _, result in ended:
                    ended_at[result.hostname] = now
                    outcomes[result.hostname] = result.outcome.value
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    honest_last = max((t for host, t in ended_at.items() if host != hostile), default=0.0)
    honest_ok = sum(1 for host, outcome in outcomes.items() if host != hostile and outcome == "verified")
    print(f"per-query timeout {args.timeout:g} s, check deadline {args.deadline:g} s, loopback")
    print(f"hostile check ({hostile}, 8 hops, 3 silent-ish servers): {ended_at[hostile]:.1f} s, {outcomes[hostile]}")
    print(f"{honest_ok}/{args.honest} honest checks in the same batch verified, all handed out by {honest_last:.2f} s")
    figures = {
        "hostile_check_s": round(ended_at[hostile], 2),
        "deadline_s": args.deadline,
        "within_deadline": int(ended_at[hostile] <= args.deadline + 0.5),
        "honest_verified": honest_ok,
        "honest_last_result_s": round(honest_last, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
