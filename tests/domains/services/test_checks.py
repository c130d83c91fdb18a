"""domain_check, domain_check_now and domain_expedite_check against the loopback DNS server."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from domains import enqueue
from domains.dns import get_checker
from domains.errors import CheckRateLimited, NotAllowed
from domains.models import ActorKind, Domain, DomainCheck, DomainEvent, DomainStatus
from domains.services import (
    CheckQueued,
    checks,
    domain_check,
    domain_check_after,
    domain_check_claimed,
    domain_check_now,
    domain_check_queue,
    domain_check_queued,
    domain_checks_claim_due,
    domain_create,
    domain_expedite_check,
)
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"


@pytest.fixture
def domain(alice, acme):
    return domain_create(user=alice, workspace=acme, hostname=HOST)


def refreshed(domain: Domain) -> Domain:
    return Domain.objects.get(pk=domain.pk)


def test_a_pending_domain_whose_record_exists_becomes_active(devdns, domain):
    devdns.add(HOST, "CNAME", domain.target)

    check = domain_check(domain=domain)

    domain = refreshed(domain)
    assert check.outcome == "verified"
    assert domain.status == DomainStatus.ACTIVE
    assert domain.verified_at == domain.last_checked_at
    assert domain.check_claimed_until is None
    event = DomainEvent.objects.filter(domain=domain).first()
    assert (event.from_status, event.to_status, event.actor_kind) == ("pending", "active", ActorKind.SYSTEM)
    # Re-checked in about six hours, jittered by up to half an hour.
    assert (
        timedelta(hours=5, minutes=29) < domain.next_check_at - domain.last_checked_at < timedelta(hours=6, minutes=31)
    )


def test_a_check_records_what_was_expected_what_dns_returned_and_a_sentence(devdns, domain):
    devdns.add(HOST, "CNAME", "acme.pixieset.com")
    devdns.add("acme.pixieset.com", "A", "192.0.2.7")

    check = domain_check(domain=domain)

    assert check.outcome == "wrong_target"
    assert domain.target in str(check.expected)
    assert check.found[0]["records"] == ["acme.pixieset.com"]
    assert "acme.pixieset.com" in check.message and domain.target in check.message
    assert check.manual is False
    assert refreshed(domain).last_check_outcome == "wrong_target"


def test_a_young_pending_domain_without_its_record_stays_pending_and_is_due_again_within_15_seconds(devdns, domain):
    check = domain_check(domain=domain)

    domain = refreshed(domain)
    assert check.outcome == "missing"
    assert domain.status == DomainStatus.PENDING
    assert timedelta(0) < domain.next_check_at - domain.last_checked_at <= timedelta(seconds=15)


def test_a_servfail_never_changes_an_active_domains_status(devdns, acme):
    domain = DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
    devdns.add(HOST, "CNAME", domain.target)
    devdns.fault(HOST, servfail=True)

    check = domain_check(domain=domain)

    domain = refreshed(domain)
    assert check.outcome == "transient"
    assert domain.status == DomainStatus.ACTIVE
    assert domain.grace_until is None
    assert not DomainEvent.objects.filter(domain=domain).exists()
    # Retried soon, not in six hours.
    assert domain.next_check_at - domain.last_checked_at <= timedelta(seconds=60)


def test_a_timeout_never_changes_a_pending_domains_status(devdns, domain):
    devdns.fault(HOST, timeout=True)

    check = domain_check(domain=domain)

    assert check.outcome == "transient"
    assert refreshed(domain).status == DomainStatus.PENDING
    assert DomainEvent.objects.filter(domain=domain).count() == 1  # only "added"


def test_only_the_newest_checks_are_kept(devdns, domain, settings):
    settings.DOMAIN_CHECKS_KEPT = 3
    checks = [domain_check(domain=domain) for _ in range(5)]

    kept = list(DomainCheck.objects.filter(domain=domain).order_by("id").values_list("pk", flat=True))
    assert kept == [check.pk for check in checks[-3:]]


def test_a_failed_domain_is_checked_on_request_but_stays_failed_and_off_the_schedule(devdns, acme):
    domain = DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.FAILED)
    devdns.add(HOST, "CNAME", domain.target)

    check = domain_check(domain=domain, manual=True)

    assert check.outcome == "verified"
    assert refreshed(domain).status == DomainStatus.FAILED
    assert refreshed(domain).next_check_at is None


def test_adding_a_domain_queues_its_first_check_after_commit(
    devdns, alice, acme, django_capture_on_commit_callbacks, eager_celery
):
    devdns.add(HOST, "CNAME", "placeholder.example.net")  # replaced below once the target is known

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    devdns.remove(HOST)
    devdns.add(HOST, "CNAME", domain.target)
    for callback in callbacks:
        callback()

    assert refreshed(domain).status == DomainStatus.ACTIVE


# -- "Check now" ------------------------------------------------------------------


def test_an_owner_can_check_now_and_the_check_is_marked_manual(devdns, domain, alice):
    devdns.add(HOST, "CNAME", domain.target)

    check = domain_check_now(user=alice, domain=domain)

    assert check.manual and check.outcome == "verified"
    event = DomainEvent.objects.filter(domain=domain, to_status="active").get()
    assert (event.actor_kind, event.actor_user) == (ActorKind.USER, alice)


def test_a_member_cannot_check_now(devdns, domain, bob):
    with pytest.raises(NotAllowed, match="owners and admins"):
        domain_check_now(user=bob, domain=domain)
    assert not DomainCheck.objects.exists()


def test_someone_from_another_workspace_cannot_check_now(devdns, domain, charlie):
    with pytest.raises(NotAllowed, match="not a member"):
        domain_check_now(user=charlie, domain=domain)
    assert not DomainCheck.objects.exists()


def test_support_staff_can_check_now_and_the_event_names_them_as_staff(devdns, domain, support):
    devdns.add(HOST, "CNAME", domain.target)

    domain_check_now(user=support, domain=domain)

    event = DomainEvent.objects.filter(domain=domain, to_status="active").get()
    assert (event.actor_kind, event.actor_user) == (ActorKind.STAFF, support)


def test_staff_without_the_permission_cannot_check_now(devdns, domain, staff_without_permission):
    with pytest.raises(NotAllowed):
        domain_check_now(user=staff_without_permission, domain=domain)


def test_check_now_runs_at_most_once_per_10_seconds_per_domain(devdns, domain, alice, support):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        domain_check_now(user=alice, domain=domain)
        traveller.shift(3)

        with pytest.raises(CheckRateLimited) as refused:
            domain_check_now(user=support, domain=domain)
        assert refused.value.retry_after_seconds == 7
        assert "try again in 7 s" in str(refused.value)

        traveller.shift(7)
        domain_check_now(user=alice, domain=domain)

    assert DomainCheck.objects.filter(domain=domain, manual=True).count() == 2


# -- The page is open: expedite --------------------------------------------------


def test_a_watched_pending_domain_becomes_due_at_once(acme):
    now = timezone.now()
    domain = DomainFactory(
        workspace=acme, next_check_at=now + timedelta(hours=1), last_checked_at=now - timedelta(minutes=5)
    )

    domain_expedite_check(domain=domain)

    assert refreshed(domain).next_check_at <= timezone.now()
    assert not DomainEvent.objects.exists()


def test_watching_never_makes_checks_more_frequent_than_the_fast_interval(acme):
    now = timezone.now()
    soon = now + timedelta(seconds=10)
    recently_checked = DomainFactory(
        workspace=acme, next_check_at=now + timedelta(hours=1), last_checked_at=now - timedelta(seconds=5)
    )
    due_soon = DomainFactory(workspace=acme, next_check_at=soon, last_checked_at=now - timedelta(minutes=5))
    active = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE, next_check_at=now + timedelta(hours=5))

    for domain in (recently_checked, due_soon, active):
        domain_expedite_check(domain=domain)

    assert refreshed(recently_checked).next_check_at == now + timedelta(hours=1)
    assert refreshed(due_soon).next_check_at == soon
    assert refreshed(active).next_check_at == now + timedelta(hours=5)


# -- "Check now" from the web UI and the API is queued ------------------------------------


def test_check_now_is_queued_claimed_and_made_due_without_asking_dns(
    devdns, domain, alice, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(enqueue, "_publish", lambda name, args: queued.append((name, args)))

    with django_capture_on_commit_callbacks(execute=True):
        result = domain_check_queue(user=alice, domain=domain)

    assert result == CheckQueued(previous_check_id=None, queued=True)
    assert not DomainCheck.objects.exists()
    claimed = refreshed(domain)
    assert claimed.check_claimed_until > timezone.now() and claimed.next_check_at <= timezone.now()
    [(name, args)] = queued
    assert (name, args[:3]) == ("domains.check_domain_now", (str(domain.pk), "user", alice.pk))


def test_the_queued_check_runs_as_the_person_who_asked_and_releases_the_claim(
    devdns, domain, alice, django_capture_on_commit_callbacks, eager_celery
):
    devdns.add(HOST, "CNAME", domain.target)

    with django_capture_on_commit_callbacks(execute=True):
        domain_check_queue(user=alice, domain=domain)

    check = domain_check_after(domain=domain, check_id=None)
    assert check.manual and check.outcome == "verified"
    assert refreshed(domain).check_claimed_until is None
    event = DomainEvent.objects.filter(domain=domain, to_status="active").get()
    assert (event.actor_kind, event.actor_user) == (ActorKind.USER, alice)


def test_check_now_while_a_check_is_under_way_queues_nothing_more(
    devdns, domain, alice, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(enqueue, "_publish", lambda name, args: queued.append(name))
    assert domain_checks_claim_due(limit=10) == [domain.pk]  # the dispatcher's batch holds it

    with django_capture_on_commit_callbacks(execute=True):
        result = domain_check_queue(user=alice, domain=domain)

    assert result.queued is False and queued == []


def test_check_now_is_refused_to_members_and_rate_limited_like_a_check_run_in_place(devdns, domain, alice, bob):
    with pytest.raises(NotAllowed):
        domain_check_queue(user=bob, domain=domain)
    domain_check_queue(user=alice, domain=domain)
    with pytest.raises(CheckRateLimited):
        domain_check_queue(user=alice, domain=domain)


def test_a_queued_check_whose_claim_has_moved_on_is_not_run(devdns, domain, alice):
    until = timezone.now() + timedelta(seconds=60)
    Domain.objects.filter(pk=domain.pk).update(check_claimed_until=until + timedelta(seconds=1))  # another claim

    ran = domain_check_queued(domain_id=domain.pk, actor_kind="user", user_id=alice.pk, claimed_until=until.isoformat())

    assert ran is None and not DomainCheck.objects.exists()


def test_a_queued_check_that_could_not_end_within_its_claim_is_left_to_the_schedule(devdns, domain, alice, settings):
    until = timezone.now() + timedelta(seconds=settings.DNS_CHECK_DEADLINE - 1)
    Domain.objects.filter(pk=domain.pk).update(check_claimed_until=until)

    ran = domain_check_queued(domain_id=domain.pk, actor_kind="user", user_id=alice.pk, claimed_until=until.isoformat())

    assert ran is None and not DomainCheck.objects.exists()


# -- Batches: each result as soon as its own check ends; no check outlives its claim ----------


def test_a_batch_records_each_domain_as_soon_as_its_own_check_ends(devdns, acme, settings, monkeypatch):
    settings.DNS_TIMEOUT = 3.0  # the slow zone answers, just slowly
    get_checker.cache_clear()
    fast = DomainFactory(workspace=acme, hostname="gallery.fast-client.com", next_check_at=timezone.now())
    slow = DomainFactory(workspace=acme, hostname="gallery.slow-client.com", next_check_at=timezone.now())
    devdns.add(fast.hostname, "CNAME", fast.target)
    devdns.add(slow.hostname, "CNAME", slow.target)
    devdns.fault(slow.hostname, latency_ms=1500)
    recorded = {}
    record = checks._record_check

    def timed_record(*, domain_id, **kwargs):
        check = record(domain_id=domain_id, **kwargs)
        recorded[domain_id] = time.monotonic()
        return check

    monkeypatch.setattr(checks, "_record_check", timed_record)
    ids = domain_checks_claim_due(limit=10)

    started = time.monotonic()
    assert len(domain_check_claimed(domain_ids=ids)) == 2

    assert recorded[fast.pk] - started < 0.75  # not when the slow one finished
    assert recorded[slow.pk] - started >= 1.5
    assert refreshed(fast).status == DomainStatus.ACTIVE and refreshed(slow).status == DomainStatus.ACTIVE


def test_a_batch_leaves_a_domain_whose_claim_would_run_out_before_its_check_could_end(devdns, acme, settings):
    domain = DomainFactory(workspace=acme, hostname=HOST, next_check_at=timezone.now())
    devdns.add(HOST, "CNAME", domain.target)
    ids = domain_checks_claim_due(limit=10)
    short = timezone.now() + timedelta(seconds=settings.DNS_CHECK_DEADLINE / 2)
    Domain.objects.filter(pk=domain.pk).update(check_claimed_until=short)  # e.g. it waited in the queue

    assert domain_check_claimed(domain_ids=ids) == []
    assert refreshed(domain).status == DomainStatus.PENDING  # the next dispatch after the claim checks it


@pytest.mark.parametrize(
    ("env", "starts"),
    [
        ({}, True),  # 120 s > 10 s × ceil(250 / 64)
        ({"DOMAIN_CHECK_CLAIM_LEASE": "40"}, False),  # = 10 s × 4 rounds
        ({"DOMAIN_CHECK_CLAIM_LEASE": "40", "DNS_CHECK_DEADLINE": "5"}, True),
        ({"DNS_CHECK_CONCURRENCY": "2"}, False),  # 125 rounds of 10 s
    ],
)
def test_settings_refuse_a_claim_lease_shorter_than_the_longest_batch(env, starts):
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("DOMAIN_", "DNS_"))}
    done = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        env={**variables, **env},
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode == 0) is starts, done.stderr
    if not starts:
        assert "DOMAIN_CHECK_CLAIM_LEASE" in done.stderr and "must be longer than the longest batch" in done.stderr
