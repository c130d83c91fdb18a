"""Benchmark webhook delivery: one worker process's threads vs a sequential loop, and nothing lost on failures.

    .venv/bin/python bench/webhooks.py [--deliveries 10000] [--sequential 200]

A loopback receiver answers every POST after 50 ms. 1) `--deliveries` pending
deliveries are sent by what a worker runs for a backlog: the sweep
(notifications.webhooks.deliveries_due, beat's notifications.webhook_sweep),
run back to back in this one process, each claiming WEBHOOK_BATCH_SIZE
deliveries in one UPDATE, POSTing them WEBHOOK_CONCURRENCY at a time and
recording them a few transactions per batch; against a sequential loop over
`--sequential` of them in the same run, each a batch of one (the task queued
after an event). 2) The same number again with the receiver failing (HTTP 500)
30 % of first attempts; the failed ones are made due and swept again until all
are delivered; the share delivered exactly once (one 2xx per webhook-id) is counted.

Throwaway SQLite file. Prints readable lines, then one line of JSON.
Goal: >= 200 deliveries/s and 100 % eventually delivered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def say(message: str) -> None:
    print(message, flush=True)


class Receiver:
    def __init__(self, delay: float = 0.05):
        self.delay, self.fail_share = delay, 0.0
        self.ok: Counter = Counter()
        self.seen: Counter = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                message_id = self.headers.get("webhook-id", "")
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.seen[message_id] += 1
                    first = receiver.seen[message_id] == 1
                    fail = first and (zlib.crc32(message_id.encode()) % 1000) < receiver.fail_share * 1000
                    if not fail:
                        receiver.ok[message_id] += 1
                status = 500 if fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # the listen backlog: read when the socket is bound, so set on the class

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def setup_django(tmp: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="true",
        VAR_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        CACHE_URL="locmem://",
        WEBHOOK_ALLOW_LOOPBACK="true",
        LOG_LEVEL="ERROR",
    )
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    settings.DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 60
    call_command("migrate", verbosity=0)


def make_deliveries(endpoint, workspace, count: int) -> list[int]:
    from django.utils import timezone

    from notifications.models import Event, WebhookDelivery

    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(
                workspace=workspace,
                hostname=f"h{i}.example",
                type="domain.active",
                payload={"type": "domain.active", "timestamp": now.isoformat(), "data": {"n": i}},
                created_at=now,
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=endpoint, event=e, next_attempt_at=now) for e in events], batch_size=500
    )
    return [d.pk for d in deliveries]


def sweep_until_done(ids: list[int]) -> float:
    """Run the sweep (notifications.webhook_sweep's body) back to back until none of `ids` is due; seconds taken."""
    from django.utils import timezone

    from notifications.models import DeliveryStatus, WebhookDelivery
    from notifications.webhooks import deliveries_due

    due = WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)
    started = time.monotonic()
    while deliveries_due() or due.filter(next_attempt_at__lte=timezone.now()).exists():
        pass
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--sequential", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        from django.conf import settings
        from django.utils import timezone

        from notifications.models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery
        from notifications.webhooks import delivery_attempt, endpoint_create
        from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

        receiver = Receiver()
        alice = UserFactory(username="alice")
        acme = WorkspaceFactory(name="Acme Photo")
        MembershipFactory(user=alice, workspace=acme)
        endpoint = endpoint_create(user=alice, workspace=acme, url=receiver.url, events=[])
        batch, concurrency = settings.WEBHOOK_BATCH_SIZE, settings.WEBHOOK_CONCURRENCY

        sequential_ids = make_deliveries(endpoint, acme, args.sequential)
        started = time.monotonic()
        for pk in sequential_ids:
            delivery_attempt(delivery_id=pk)
        sequential_rate = args.sequential / (time.monotonic() - started)
        say(
            f"sequential (the per-event task, one after another): {args.sequential} deliveries, {sequential_rate:.1f}/s"
        )

        ids = make_deliveries(endpoint, acme, args.deliveries)
        elapsed = sweep_until_done(ids)
        rate = args.deliveries / elapsed
        succeeded = WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.SUCCEEDED).count()
        say(
            f"sweep (batches of {batch}, {concurrency} POSTs at a time): {args.deliveries} deliveries in {elapsed:.1f} s, "
            f"{rate:.1f}/s ({succeeded} succeeded)"
        )

        receiver.fail_share = 0.3
        ids = make_deliveries(endpoint, acme, args.deliveries)
        first_elapsed = sweep_until_done(ids)
        # Retries that came due (5 s) while the sweeps ran were sent by them, as a worker would.
        failed_first = (
            WebhookAttempt.objects.filter(delivery__pk__in=ids).exclude(error="").values("delivery").distinct().count()
        )
        rounds = 0
        while WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).exists() and rounds < 5:
            # Their retry is due in 5 s; the bench does not wait for it.
            WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
                next_attempt_at=timezone.now()
            )
            sweep_until_done(ids)
            rounds += 1
        message_ids = [
            f"msg_{e.hex}" for e in Event.objects.filter(deliveries__pk__in=ids).values_list("id", flat=True)
        ]
        once = sum(1 for m in message_ids if receiver.ok[m] == 1)
        share = once / len(ids)
        sends = sum(receiver.seen[m] for m in message_ids)
        logged = WebhookAttempt.objects.filter(delivery__pk__in=ids).count()
        say(
            f"30 % failing first attempts: {failed_first} failed first ({first_elapsed:.1f} s), after {rounds} retry "
            f"sweep(s) {once}/{len(ids)} delivered exactly once ({share:.1%}); {sends} POSTs, {logged} attempts logged"
        )
        print(
            json.dumps(
                {
                    "deliveries": args.deliveries,
                    "batch_size": batch,
                    "concurrency": concurrency,
                    "deliveries_per_s": round(rate, 1),
                    "sequential_per_s": round(sequential_rate, 1),
                    "speedup": round(rate / sequential_rate, 1),
                    "failed_first_attempts": failed_first,
                    "retry_sweeps": rounds,
                    "delivered_exactly_once_share": round(share, 4),
                    "posts": sends,
                    "attempts_logged": logged,
                }
            )
        )


if __name__ == "__main__":
    main()
