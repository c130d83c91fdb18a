"""Build the stack's environment, prepare its state, and start its processes."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devdns.store import Store
from edgelocal import tenants as edgelocal_tenants

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
EDGE_BASE_CONFIG = ROOT / "edge_function" / "config.json"
# The local CloudFront answers 403 for hostnames without an enabled distribution tenant, as CloudFront
# does: the portal creates a tenant for every proven domain (CLOUDFRONT_* below turn its provisioning on).
EDGE_REQUIRE_TENANT = True

# Fake credentials for the local DynamoDB endpoint; real AWS is never contacted.
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Ports:
    web: int = 8000
    edge: int = 8080
    origin: int = 8081
    dynamodb: int = 5000
    dns: int = 5300
    redis: int = 6379
    edge_tls: int = 8443
    cloudfront: int = 8082  # the stand-in's CloudFront API
    pebble: int = 14000  # the ACME test CA's directory
    pebble_management: int = 15000
    smtp: int = 1025  # the local mailbox (devstack.mailbox)
    mailbox: int = 8025  # its page
    receiver: int = 8026  # the demo webhook receiver

    @classmethod
    def from_environment(cls) -> Ports:
        defaults = cls()
        return cls(
            **{name: int(os.environ.get(f"VE_{name.upper()}_PORT", getattr(defaults, name))) for name in vars(defaults)}
        )


@dataclass
class Stack:
    ports: Ports
    var_dir: Path
    # Edge cache TTLs: short locally so a change shows within seconds.
    edge_positive_ttl: float = 5.0
    edge_negative_ttl: float = 2.0
    extra_env: dict[str, str] = field(default_factory=dict)
    # What the stack's own watchers send to read /healthz's details: yours if set, else random (never printed).
    healthz_token: str = field(
        default_factory=lambda: os.environ.get("HEALTHZ_TOKEN") or secrets.token_urlsafe(24), repr=False
    )

    @property
    def edge_config_path(self) -> Path:
        return self.var_dir / "edge_config.json"

    @property
    def devdns_state(self) -> Path:
        return self.var_dir / "devdns.json"

    @property
    def edge_ca_file(self) -> Path:
        """The roots of the local edge's certificates: what curl --cacert and browsers must trust."""
        return self.var_dir / "edge-ca.pem"

    def devdns_args(self, *args: str) -> list[str]:
        """`python -m devdns ARGS` as a person runs it from the checkout, in a shell without
        $DEVDNS_STATE: --state only when the state is not the CLI's default var/devdns.json."""
        default = (ROOT / "var" / "devdns.json").resolve()
        state = [] if self.devdns_state.resolve() == default else ["--state", str(self.devdns_state)]
        return ["-m", "devdns", *state, *args]

    def environment(self) -> dict[str, str]:
        p = self.ports
        env = {
            **os.environ,
            **LOCAL_AWS,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            # The portal fails closed without it (no SECRET_KEY, HTTPS only); the local stack is development.
            "DEBUG": "true",
            "VAR_DIR": str(self.var_dir),
            "REDIS_URL": f"redis://127.0.0.1:{p.redis}/0",
            "CACHE_URL": f"redis://127.0.0.1:{p.redis}/0",  # throttles shared by every process, as in production
            "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{p.dynamodb}",
            "DNS_RESOLVERS": f"127.0.0.1:{p.dns}",
            "DNS_NAMESERVER_PORT": str(p.dns),
            # devdns answers on loopback and names itself (127.0.0.1) as every zone's name server.
            "DNS_ALLOW_PRIVATE_NAMESERVERS": "true",
            "DEVDNS_STATE": str(self.devdns_state),
            "EDGE_CONFIG": str(self.edge_config_path),
            "VE_WEB_PORT": str(p.web),
            "VE_EDGE_PORT": str(p.edge),
            "VE_ORIGIN_PORT": str(p.origin),
            "VE_DYNAMODB_PORT": str(p.dynamodb),
            "VE_DNS_PORT": str(p.dns),
            "VE_REDIS_PORT": str(p.redis),
            "VE_EDGE_TLS_PORT": str(p.edge_tls),
            "VE_CLOUDFRONT_PORT": str(p.cloudfront),
            "VE_PEBBLE_PORT": str(p.pebble),
            "VE_PEBBLE_MANAGEMENT_PORT": str(p.pebble_management),
            # The local CloudFront (edgelocal) speaks CloudFront's API: the portal's boto3 client goes there.
            "CLOUDFRONT_ENDPOINT_URL": f"http://127.0.0.1:{p.cloudfront}",
            "CLOUDFRONT_DISTRIBUTION_ID": edgelocal_tenants.DISTRIBUTION_ID,
            "CLOUDFRONT_CONNECTION_GROUP_ID": edgelocal_tenants.CONNECTION_GROUP_ID,
            # pebble issues in about a second: poll the certificate every second or two, not every 5 s to 5 min.
            "CLOUDFRONT_POLL_BASE_SECONDS": "1",
            "CLOUDFRONT_POLL_MAX_SECONDS": "5",
            "CLOUDFRONT_RETRY_BASE_SECONDS": "1",
            "CLOUDFRONT_SWEEP_PERIOD": "1",
            "EDGE_STATE": str(self.var_dir / "cloudfront.json"),
            "EDGE_CA_FILE": str(self.edge_ca_file),
            "EDGE_REQUIRE_TENANT": os.environ.get("EDGE_REQUIRE_TENANT")
            or ("true" if EDGE_REQUIRE_TENANT else "false"),
            # Apex domains point their A record at the local edge, as they would at the connection group's IPs.
            "EDGE_APEX_ADDRESSES": "127.0.0.1",
            # Mail goes to the local mailbox; webhooks may reach the demo receiver on loopback.
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(p.smtp),
            "PORTAL_URL": f"http://127.0.0.1:{p.web}",
            "WEBHOOK_ALLOW_LOOPBACK": "true",
            "VE_SMTP_PORT": str(p.smtp),
            "VE_MAILBOX_PORT": str(p.mailbox),
            "VE_RECEIVER_PORT": str(p.receiver),
            "HEALTHZ_TOKEN": self.healthz_token,
        }
        env.update(self.extra_env)
        return env

    def write_edge_config(self) -> None:
        """The config the zip carries, pointed at the local endpoint with the local TTLs."""
        config = json.loads(EDGE_BASE_CONFIG.read_text())
        config.update(
            endpoint_url=f"http://127.0.0.1:{self.ports.dynamodb}",
            replica_regions=[LOCAL_AWS["AWS_DEFAULT_REGION"]],
            positive_ttl_seconds=self.edge_positive_ttl,
            negative_ttl_seconds=self.edge_negative_ttl,
            not_found_max_age_seconds=int(self.edge_negative_ttl),
        )
        self.edge_config_path.write_text(json.dumps(config, indent=2))

    def publish_platform_zone(self) -> None:
        """devdns answers for every unique target <token>.<CNAME_ZONE> with the local edge's address,
        as the wildcard *.<CNAME_ZONE> points at the connection group on AWS (pebble resolves through it)."""
        zone = self.environment().get("CNAME_ZONE", "domain.ve.ai").strip().lower().rstrip(".")
        Store(self.devdns_state).add(f"*.{zone}", "A", "127.0.0.1")

    def prepare(self) -> None:
        """Migrate the database, seed the demo cast, write the edge config, publish the platform zone."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.write_edge_config()
        self.publish_platform_zone()
        env = self.environment()
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run([*manage, "seed_demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

    def start(self, log_path: Path) -> subprocess.Popen:
        """Start every process of the Procfile under honcho, in its own process group."""
        log = open(log_path, "ab")  # noqa: SIM115 - the process owns it for its life
        return subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", str(PROCFILE), "-d", str(ROOT), "--no-prefix"],
            env=self.environment(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def healthz_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}/healthz"

    def wait_until_up(self, timeout: float = 90.0) -> None:
        """Wait until the portal's /healthz reports every dependency up, beat ticking and a worker at work."""
        deadline = time.monotonic() + timeout
        token = self.environment()["HEALTHZ_TOKEN"]
        last = "no answer"
        while time.monotonic() < deadline:
            last = not_up_yet(self.healthz_url, token)
            if not last:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the stack did not come up within {timeout:.0f} s: {last}")


AWAITED = {"beat": "beat to tick", "worker": "a worker to finish a task"}


def not_up_yet(healthz_url: str, token: str) -> str:
    """What the stack still waits for; "" once /healthz answers 200 and its details show beat and a worker fresh.

    A 200 alone comes a few seconds before the worker takes tasks, and domains would not verify yet."""
    request = urllib.request.Request(healthz_url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        return error.read().decode(errors="replace")[:500] or f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return str(error) or type(error).__name__
    if "checks" not in body:
        return "no details from /healthz: does the portal run with this HEALTHZ_TOKEN?"
    waiting = [what for name, what in AWAITED.items() if not body["checks"].get(name, {}).get("fresh")]
    return f"waiting for {' and '.join(waiting)}" if waiting else ""


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop honcho and everything it started (it forwards the signal to its children)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
