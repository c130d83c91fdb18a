"""The check tasks: thin, tolerant of rows that have gone, and wired to beat."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from domains import tasks
from domains.models import Domain, DomainCheck, DomainStatus
from domains.services import domain_checks_claim_due
from portal.celery import app as celery_app
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres


def due(acme, **fields) -> Domain:
    return DomainFactory(workspace=acme, next_check_at=timezone.now() - timedelta(seconds=1), **fields)


def test_every_periodic_schedule_names_a_registered_task():
    celery_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in celery_app.tasks, f"beat entry {name} names an unknown task"


def test_the_dispatcher_runs_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["domains-dispatch-due-checks"]
    assert entry["task"] == "domains.dispatch_due_checks"
    assert 1 <= entry["schedule"] <= 10


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
