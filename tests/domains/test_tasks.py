"""The check tasks: thin, tolerant of rows that have gone, and wired to beat."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from domains import tasks
from domains.models import Domain, DomainCheck, DomainStatus
from domains.services import domain_checks_claim_due
from portal.celery import app as celery_app
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def due(acme, **fields) -> Domain:
    return DomainFactory(workspace=acme, next_check_at=timezone.now() - timedelta(seconds=1), **fields)


@pytest.fixture
def beat(transactional_db):
    """Beat's scheduler as `celery -A portal beat` builds it: the schedule written to the database.

    Transactional: the scheduler commits and recycles connections, which a test transaction forbids.
    """
    celery_app.loader.import_default_modules()
    scheduler = DatabaseScheduler(app=celery_app)
    yield scheduler
    scheduler._finalize.cancel()


def test_beat_runs_every_periodic_entry_as_a_registered_task_on_its_interval(beat):
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        stored = PeriodicTask.objects.get(name=name)
        running = beat.schedule[name]

        assert stored.enabled and stored.task == entry["task"]
        assert entry["task"] in celery_app.tasks, f"beat entry {name} names an unknown task"
        assert running.schedule.run_every == timedelta(seconds=entry["schedule"])
        assert not running.is_due().is_due, f"{name} waits one interval after beat starts"
        PeriodicTask.objects.filter(name=name).update(
            last_run_at=timezone.now() - timedelta(seconds=entry["schedule"] + 1)
        )
    for name in settings.CELERY_BEAT_SCHEDULE:
        assert DatabaseScheduler.Entry(PeriodicTask.objects.get(name=name), app=celery_app).is_due().is_due, name


def test_beat_sends_each_run_with_the_expiry_its_entry_asks_for(beat):
    asked = {
        name: options.get("expires", options.get("expire_seconds"))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if (options := entry.get("options") or {})
    }
    # "A run that waited longer than a period is superseded by the next one."
    assert asked["domains-dispatch-due-checks"] == settings.DOMAIN_CHECK_DISPATCH_PERIOD

    for name, expiry in asked.items():
        assert beat.schedule[name].options.get("expires") == expiry, name


def test_each_period_comes_from_the_environment_variable_of_its_setting():
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings;"
            "print(json.dumps({n: e['schedule'] for n, e in settings.CELERY_BEAT_SCHEDULE.items()}))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DOMAIN_CHECK_DISPATCH_PERIOD": "3",
            "EDGE_SWEEP_PERIOD": "11",
            "EDGE_RECONCILE_PERIOD": "600",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    schedules = json.loads(probe.stdout.strip().splitlines()[-1])
    assert schedules["domains-dispatch-due-checks"] == 3
    assert schedules["domains-edge-sweep"] == 11
    assert schedules["domains-edge-reconcile"] == 600


def test_the_dispatcher_runs_often_enough_to_keep_the_promised_check_interval():
    period = settings.CELERY_BEAT_SCHEDULE["domains-dispatch-due-checks"]["schedule"]

    assert period == settings.DOMAIN_CHECK_DISPATCH_PERIOD
    # A pending domain is due every DOMAIN_PENDING_FAST_INTERVAL; it waits at most one period more.
    assert period < settings.DOMAIN_PENDING_FAST_INTERVAL
    # A claim outlives the next run, which must not claim the same domains again while they queue.
    assert settings.DOMAIN_CHECK_CLAIM_LEASE > period


def test_the_dispatcher_checks_every_due_domain_in_batches_and_leaves_the_others(
    devdns, acme, eager_celery, settings, django_capture_on_commit_callbacks
):
    settings.DOMAIN_CHECK_BATCH_SIZE = 2
    due_domains = [due(acme, hostname=f"g{i}.client-domain.com") for i in range(5)]
    later = DomainFactory(workspace=acme, next_check_at=timezone.now() + timedelta(minutes=5))
    devdns.add("g0.client-domain.com", "CNAME", due_domains[0].target)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_due_checks() == 5

    assert set(DomainCheck.objects.values_list("domain_id", flat=True)) == {d.pk for d in due_domains}
    assert Domain.objects.get(pk=due_domains[0].pk).status == DomainStatus.ACTIVE
    assert not Domain.objects.filter(check_claimed_until__isnull=False).exists(), "every claim was released"
    assert not DomainCheck.objects.filter(domain=later).exists()


def test_the_dispatcher_finds_nothing_to_do_when_nothing_is_due(acme):
    DomainFactory(workspace=acme, next_check_at=timezone.now() + timedelta(minutes=5))

    assert tasks.dispatch_due_checks() == 0


def test_checking_a_domain_that_was_deleted_does_nothing(db):
    tasks.check_domain("5f0c5a8e-0000-4000-8000-000000000000")
    tasks.check_domains(["5f0c5a8e-0000-4000-8000-000000000000"])

    assert not DomainCheck.objects.exists()


def test_the_check_after_creation_is_skipped_while_another_worker_holds_the_domain(devdns, acme):
    domain = due(acme, check_claimed_until=timezone.now() + timedelta(seconds=60))

    tasks.check_domain(str(domain.pk))

    assert not DomainCheck.objects.filter(domain=domain).exists()


def test_the_check_after_creation_checks_a_free_domain_and_releases_it(devdns, acme):
    domain = due(acme, hostname="gallery.client-domain.com")
    devdns.add("gallery.client-domain.com", "CNAME", domain.target)

    tasks.check_domain(str(domain.pk))

    domain.refresh_from_db()
    assert (domain.status, domain.check_claimed_until) == (DomainStatus.ACTIVE, None)


def test_a_batch_task_skips_a_domain_suspended_after_it_was_claimed(devdns, acme):
    domain = due(acme)
    ids = [str(pk) for pk in domain_checks_claim_due(limit=10)]
    Domain.objects.filter(pk=domain.pk).update(status=DomainStatus.SUSPENDED)

    tasks.check_domains(ids)

    assert not DomainCheck.objects.exists()
