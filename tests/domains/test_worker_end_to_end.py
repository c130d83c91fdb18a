"""A domain goes pending → active through a real Celery worker and beat over real Redis.

Nothing here calls the check service: the tenant adds the domain, the
after-commit task checks it at once (no record yet), the tenant publishes the
record, and beat's dispatcher finds the domain due and a worker verifies it.
"""

import pytest

pytestmark = pytest.mark.slow

HOST = "gallery.client-domain.com"

ADD_DOMAIN = """
import json
from domains.services import domain_create
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
alice = UserFactory(username="alice")
acme = WorkspaceFactory(name="Acme Photo")
MembershipFactory(user=alice, workspace=acme)
domain = domain_create(user=alice, workspace=acme, hostname="%s")
print(json.dumps({"id": domain.pk.hex, "target": domain.target}))
"""


def test_a_domain_becomes_active_through_the_worker_and_beat_once_its_record_is_published(celery_worker, dns_server):
    dns_server.add("www.client-domain.com", "A", "192.0.2.1")  # the customer's zone exists

    added = celery_worker.run_django(ADD_DOMAIN % HOST)

    # Checked right after creation, through Redis: nothing published yet.
    [(first_outcome,)] = celery_worker.wait_for(
        "SELECT outcome FROM domains_domaincheck WHERE domain_id = ? ORDER BY id LIMIT 1", (added["id"],)
    )
    assert first_outcome == "missing"
    assert celery_worker.query("SELECT status FROM domains_domain WHERE id = ?", (added["id"],)) == [("pending",)]

    dns_server.add(HOST, "CNAME", added["target"])

    celery_worker.wait_for("SELECT 1 FROM domains_domain WHERE id = ? AND status = 'active'", (added["id"],))
    events = celery_worker.query(
        "SELECT from_status, to_status, actor_kind FROM domains_domainevent WHERE hostname = ? ORDER BY id", (HOST,)
    )
    assert events == [("", "pending", "user"), ("pending", "active", "system")]
    log = celery_worker.log_tail(400)
    assert "celery worker" in log and f"127.0.0.1:{dns_server.port}" in log and "database=sqlite3:" in log
