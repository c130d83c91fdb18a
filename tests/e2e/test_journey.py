"""The whole journey through the real processes of `make run`: API → DNS → beat and worker → DynamoDB and the
local CloudFront (a tenant, a certificate from pebble) → edge, over HTTP and HTTPS, and the integration told:
signed webhooks at the demo receiver, the "is live" e-mail in the local mailbox.

Starts the Procfile under honcho on free ports with its own database, then
does what a newcomer does. Nothing is called in-process.
"""

import json
import time
from pathlib import Path

import pytest

from devstack.client import (
    PortalSession,
    free_ports,
    mail_received,
    manage,
    publish,
    receiver_hooks_url,
    through_edge,
    through_edge_https,
    webhooks_received,
    workspace_public_id,
)
from devstack.stack import Stack, stop
from domains.views import POLL_INTERVAL_MS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent.parent

EDGE_POSITIVE_TTL = 2.0  # host mode only; the stack's edge runs in shard mode
# The edge's default shard_poll_seconds (edge_function/config.json): the journey keeps it.
EDGE_POLL = json.loads((ROOT / "edge_function" / "config.json").read_text())["shard_poll_seconds"]
HOSTNAME = "gallery.client-domain.com"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("stack")
    stack = Stack(ports=free_ports(), var_dir=var_dir, edge_positive_ttl=EDGE_POSITIVE_TTL, edge_negative_ttl=1.0)
    stack.prepare()
    process = stack.start(var_dir / "stack.log")
    try:
        stack.wait_until_up(timeout=90)
        yield stack
    finally:
        stop(process)
        # Leave the processes' log where a failing run can be read.
        print((var_dir / "stack.log").read_text()[-5000:])


def wait_for(condition, *, timeout: float, every: float = 0.5, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def listening(read) -> bool:
    """Whether `read` got an answer: False while its server is not listening yet."""
    try:
        read()
    except OSError:
        return False
    return True


def events_heard(stack, hostname: str) -> dict[str, bool]:
    """Each event type the demo receiver got for `hostname`, and whether every delivery of it verified."""
    heard: dict[str, bool] = {}
    for delivery in webhooks_received(stack):
        if delivery["hostname"] == hostname:
            heard[delivery["type"]] = heard.get(delivery["type"], True) and delivery["verified"]
    return heard


def test_a_domain_added_by_alice_goes_live_at_the_edge_tells_her_integration_and_stops_when_suspended(stack):
    alice = PortalSession(stack, "alice", "ve-demo-2026")
    # The demo receiver may still be starting (it loads Django); a delivery refused now would wait for a retry.
    wait_for(lambda: listening(lambda: webhooks_received(stack)), timeout=30, what="the demo receiver")
    webhook = alice.add_webhook(receiver_hooks_url(stack))
    assert webhook["secret"].startswith("whsec_") and webhook["events"] == []  # every event type
    domain = alice.add_domain("gallery.client-domain.com")
    assert domain["status"] == "pending"
    assert through_edge(stack, "gallery.client-domain.com")[0] == 403  # CloudFront's own: no tenant holds it

    publish(stack, "gallery.client-domain.com", "CNAME", domain["target"])
    published_at = time.monotonic()

    # Alice keeps the domain's page open, as the try-it block says: it asks every 3 s.
    wait_for(
        lambda: alice.watch(domain["id"]) != "pending",
        timeout=60,
        every=POLL_INTERVAL_MS / 1000,
        what="beat and the worker to verify",
    )
    print(f"record published -> DNS proven: {time.monotonic() - published_at:.1f} s")
    wait_for(lambda: alice.domain(domain["id"])["status"] == "active", timeout=60, what="the certificate and Active")
    print(f"record published -> Active: {time.monotonic() - published_at:.1f} s")
    status, page = wait_for(
        lambda: (r := through_edge_https(stack, "gallery.client-domain.com"))[0] == 200 and r,
        timeout=30,
        every=0.1,
        what="the edge to serve the domain over HTTPS",
    )
    print(f"record published -> HTTPS served: {time.monotonic() - published_at:.1f} s")
    acme = workspace_public_id(stack, "Acme Photo")
    status, page = wait_for(
        lambda: (r := through_edge(stack, "gallery.client-domain.com"))[0] == 200 and r,
        timeout=30,
        what="the edge to serve the domain",
    )
    assert page["workspace_id"] == acme
    assert page["forwarded_host"] == "gallery.client-domain.com"
    assert page["workspace_id_headers"] == [acme]
    assert through_edge_https(stack, "gallery.client-domain.com")[1]["workspace_id"] == acme

    # …and her integration heard about it: each event signed with the endpoint's secret, verified by the receiver.
    served_at = time.monotonic()
    expected = ["domain.created", "domain.active"]
    if stack.environment().get("CLOUDFRONT_DISTRIBUTION_ID"):
        expected.insert(1, "domain.provisioning")  # a tenant and a certificate before it is active
    heard = wait_for(
        lambda: (h := events_heard(stack, HOSTNAME)).keys() >= set(expected) and h,
        timeout=30,
        what=f"the demo receiver to hear {', '.join(expected)}",
    )
    assert {event: heard[event] for event in expected} == dict.fromkeys(expected, True)
    assert all(heard.values()), f"a delivery the receiver could not verify: {heard}"
    # And alice has the e-mail, in the local mailbox.
    (live,) = wait_for(
        lambda: [m for m in mail_received(stack) if m["subject"] == f"{HOSTNAME} is live"],
        timeout=30,
        what="alice's 'is live' e-mail in the mailbox",
    )
    assert live["to"] == ["alice@example.com"]
    print(f"served -> webhooks verified and e-mail in the mailbox: {time.monotonic() - served_at:.1f} s more")

    # Timed from the suspension's commit (printed by the shell), not from the end of `manage shell`,
    # whose start-up alone can outlast the edge's reaction.
    committed_at = manage(
        stack,
        "shell",
        "-v",
        "0",
        "-c",
        "import time; from django.contrib.auth import get_user_model; from domains.models import Domain; "
        "from domains.services import domain_suspend; "
        "domain_suspend(staff_user=get_user_model().objects.get(username='support'), "
        "domain=Domain.objects.get(hostname='gallery.client-domain.com'), reason='abuse report'); print(time.time())",
    )
    suspended_at = float(committed_at.strip().splitlines()[-1])
    # Whichever comes first: the function's 404 (the tombstone) or CloudFront's 403 (the tenant disabled).
    wait_for(
        lambda: through_edge(stack, "gallery.client-domain.com")[0] in (403, 404),
        timeout=30,
        every=0.1,
        what="the edge to stop serving",
    )
    took = time.time() - suspended_at
    print(f"suspension -> edge stops serving: {took:.1f} s (shard_poll_seconds {EDGE_POLL})")
    # The worker builds the shard at once (or after the 1 s debounce); the warm edge sees it at its next poll.
    assert took < EDGE_POLL + 3
    wait_for(
        lambda: (
            through_edge(stack, "gallery.client-domain.com")[0] == 403
            and through_edge_https(stack, "gallery.client-domain.com")[0] in (0, 403)
        ),
        timeout=30,
        what="the tenant to be disabled",
    )
