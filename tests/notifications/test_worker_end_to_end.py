"""Webhooks through a real Celery worker and beat over real Redis, to a real receiver on loopback."""

import json
import subprocess
import sys
import time

import pytest
from standardwebhooks.webhooks import Webhook

from tests.fixtures.celery_worker import BASE_DIR, CeleryStack, stack_env

pytestmark = pytest.mark.slow

SETUP = """
import json
from domains.services import domain_create
from notifications import webhooks
from notifications.models import Event, WebhookDelivery
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
alice = UserFactory(username="alice")
acme = WorkspaceFactory(name="Acme Photo")
MembershipFactory(user=alice, workspace=acme)
endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="%s", events=[])
domain = domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")
# A delivery whose task never reached a worker (or whose worker died holding it): only a row.
lost = Event.objects.create(workspace=acme, hostname="lost.client-domain.com", type="domain.active",
                            payload={"type": "domain.active", "timestamp": "2026-11-30T00:00:00+00:00", "data": {}})
WebhookDelivery.objects.create(endpoint=endpoint, event=lost, next_attempt_at=lost.created_at)
print(json.dumps({"secret": endpoint.secret}))
"""


def test_the_worker_delivers_at_once_and_the_sweep_delivers_what_no_task_carried(celery_worker, receiver):
    created = celery_worker.run_django(SETUP % receiver.url)

    celery_worker.wait_for(
        "SELECT n FROM (SELECT COUNT(*) AS n FROM notifications_webhookdelivery WHERE status = 'succeeded') WHERE n = 2"
    )
    types = sorted(Webhook(created["secret"]).verify(got.body, got.headers)["type"] for got in receiver.received)
    assert types == ["domain.active", "domain.created"]
    assert len({got.headers["webhook-id"] for got in receiver.received}) == 2
    attempts = celery_worker.query("SELECT status_code FROM notifications_webhookattempt")
    assert attempts == [(200,), (200,)]
    assert json.loads(receiver.received[0].body)["type"] in types


ONE_EVENT = """
import json
from domains.services import domain_create
from notifications import webhooks
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
alice = UserFactory(username="alice")
acme = WorkspaceFactory(name="Acme Photo")
MembershipFactory(user=alice, workspace=acme)
webhooks.endpoint_create(user=alice, workspace=acme, url="%s", events=[])
domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")
print(json.dumps({}))
"""


def wait_until(condition, *, timeout: float, what: str, stack: CeleryStack) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s; worker log:\n{stack.log_tail()}")
        time.sleep(0.1)


def test_a_worker_killed_in_the_middle_of_a_post_loses_nothing_the_next_worker_sends_it_again(celery_worker, receiver):
    # A short lease (a batch of one: WEBHOOK_TIMEOUT + WEBHOOK_LEASE_MARGIN = 4 s) so the test need not wait long.
    celery_worker.stop()
    celery_worker.start(WEBHOOK_TIMEOUT="3", WEBHOOK_LEASE_MARGIN="1")
    receiver.delay = 60  # the receiver holds the first request open: the worker is mid-POST
    celery_worker.run_django(ONE_EVENT % receiver.url)
    wait_until(lambda: len(receiver.received) == 1, timeout=30, what="the first POST", stack=celery_worker)

    celery_worker.kill()

    ((status, attempts, leased),) = celery_worker.query(
        "SELECT status, attempts, claimed_until IS NOT NULL FROM notifications_webhookdelivery"
    )
    assert (status, attempts, leased) == ("pending", 0, 1), "the dead worker's claim is all that is left of it"
    assert celery_worker.query("SELECT COUNT(*) FROM notifications_webhookattempt") == [(0,)]

    receiver.delay = 0
    celery_worker.start()  # beat's sweep (every second here) claims the delivery once the dead worker's lease ends
    celery_worker.wait_for("SELECT 1 FROM notifications_webhookdelivery WHERE status = 'succeeded'", timeout=30)

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
    ((attempts, last_status_code, claim),) = celery_worker.query(
        "SELECT attempts, last_status_code, claim_token FROM notifications_webhookdelivery"
    )
    assert (attempts, last_status_code, claim) == (1, 200, None)
    assert celery_worker.query("SELECT status_code, error FROM notifications_webhookattempt") == [(200, "")]


RACER = """
import json, os, sys, threading, time
from pathlib import Path
from django.db import connection
from notifications import webhooks

here, go = Path(sys.argv[1]), Path(sys.argv[2])
sent = []

def claimer():
    try:
        while batch := webhooks.deliveries_send(limit=5):
            sent.extend(d.pk for d in batch)
    finally:
        connection.close()

here.touch()
while not go.exists():
    time.sleep(0.01)
threads = [threading.Thread(target=claimer) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(sent))
"""

MANY_EVENTS = """
import json
from django.utils import timezone
from notifications import webhooks
from notifications.models import Event, WebhookDelivery
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
alice = UserFactory(username="alice")
acme = WorkspaceFactory(name="Acme Photo")
MembershipFactory(user=alice, workspace=acme)
endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="%s", events=[])
now = timezone.now()
events = Event.objects.bulk_create(
    Event(workspace=acme, hostname=f"shop{n}.client-domain.com", type="domain.active",
          payload={"type": "domain.active", "timestamp": now.isoformat(), "data": {"n": n}})
    for n in range(100)
)
# Only rows, as after tasks that never reached a worker: the claimers below find them.
WebhookDelivery.objects.bulk_create(WebhookDelivery(endpoint=endpoint, event=e, next_attempt_at=now) for e in events)
print(json.dumps({}))
"""


@pytest.fixture
def sqlite_stack(tmp_path) -> CeleryStack:
    """A migrated SQLite file that several processes share (no worker: the test runs the claimers itself)."""
    database = tmp_path / "portal.sqlite3"
    env = stack_env(
        database=database, redis_url="redis://127.0.0.1:9/0", dns_address="127.0.0.1", dns_port=9, var_dir=tmp_path
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=120
    )
    return CeleryStack(database=database, env=env, log=tmp_path / "none.log")


def test_two_processes_racing_on_one_sqlite_file_send_each_delivery_once(sqlite_stack, receiver, tmp_path):
    receiver.delay = 0.02  # so that POSTs of both processes overlap
    sqlite_stack.run_django(MANY_EVENTS % receiver.url, timeout=60)
    script = "import django\ndjango.setup()\n" + RACER
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / f"ready{n}"), str(tmp_path / "go")],
            cwd=BASE_DIR,
            env=sqlite_stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(2)) and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), outputs

    sent = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(sent), "both processes claimed some"
    assert sorted(pk for each in sent for pk in each) == list(range(1, 101))
    webhook_ids = [got.headers["webhook-id"] for got in receiver.received]
    assert len(webhook_ids) == len(set(webhook_ids)) == 100, "a delivery was sent twice or not at all"
    assert sqlite_stack.query("SELECT COUNT(*), MIN(attempts), MAX(attempts) FROM notifications_webhookdelivery") == [
        (100, 1, 1)
    ]
