"""The check schedule over days of a domain's life, with time moved by time-machine.

Every check goes through the dispatcher's path (claim what is due, check the
batch) against the loopback DNS server; only the clock is fake.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from domains.models import Domain, DomainEvent, DomainStatus, EdgeOutbox
from domains.services import (
    domain_check_claimed,
    domain_checks_claim_due,
    domain_create,
)
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def run_due_checks() -> int:
    """What beat and a worker do together: claim every due domain, then check the batch."""
    ids = domain_checks_claim_due(limit=1000)
    return len(domain_check_claimed(domain_ids=ids))


def refreshed(domain: Domain) -> Domain:
    return Domain.objects.get(pk=domain.pk)


def advance_to_next_check(clock, domain: Domain) -> Domain:
    clock.move_to(refreshed(domain).next_check_at)
    assert run_due_checks() == 1
    return refreshed(domain)


@pytest.fixture
def pending(devdns, clock, alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    assert run_due_checks() == 1  # the check right after creation
    return refreshed(domain)


@pytest.fixture
def active(pending, devdns, clock):
    devdns.add(HOST, "CNAME", pending.target)
    domain = advance_to_next_check(clock, pending)
    assert domain.status == DomainStatus.ACTIVE
    return domain


def test_a_record_added_minutes_after_creation_makes_the_domain_active_on_the_next_due_check(pending, devdns, clock):
    clock.shift(timedelta(minutes=3))
    run_due_checks()
    assert refreshed(pending).status == DomainStatus.PENDING

    devdns.add(HOST, "CNAME", pending.target)
    assert run_due_checks() == 0, "nothing is due between two checks"
    domain = advance_to_next_check(clock, pending)

    assert domain.status == DomainStatus.ACTIVE
    assert domain.verified_at == T0 + timedelta(minutes=3, seconds=15)


def test_a_pending_domain_is_checked_every_15_seconds_for_10_minutes_then_less_and_less_often(pending, clock):
    gaps = []
    domain = pending
    for _ in range(50):
        before = domain.next_check_at
        domain = advance_to_next_check(clock, domain)
        gaps.append((domain.next_check_at - before).total_seconds())

    assert gaps[:39] == [15] * 39  # checks at 0:15 … 10:00
    assert gaps[39:48] == [60, 120, 300, 600, 1800, 3600, 14400, 14400, 14400]
    assert domain.status == DomainStatus.PENDING


def test_a_domain_pending_for_7_days_fails_on_the_day(pending, clock):
    domain = pending
    while domain.status == DomainStatus.PENDING:
        domain = advance_to_next_check(clock, domain)

    assert domain.status == DomainStatus.FAILED
    assert domain.last_checked_at == T0 + timedelta(days=7)
    assert domain.next_check_at is None
    event = DomainEvent.objects.filter(domain=domain).first()
    assert (event.from_status, event.to_status) == ("pending", "failed")
    assert "No DNS proof after 7 days" in event.reason


def test_an_active_domain_is_rechecked_after_about_6_hours(active, clock):
    clock.shift(timedelta(hours=5))
    assert run_due_checks() == 0

    clock.shift(timedelta(hours=1, minutes=31))
    assert run_due_checks() == 1
    assert refreshed(active).status == DomainStatus.ACTIVE


def test_a_removed_record_makes_an_active_domain_misconfigured_but_still_served(active, devdns, clock):
    devdns.remove(HOST)
    domain = advance_to_next_check(clock, active)

    assert domain.status == DomainStatus.MISCONFIGURED
    assert domain.is_servable
    assert domain.grace_until == domain.last_checked_at + timedelta(hours=72)
    assert (
        EdgeOutbox.objects.filter(hostname=HOST).count() == 1
    )  # only "serve" from activation: nothing changed at the edge


def test_a_misconfigured_domain_fails_when_the_grace_is_over_and_leaves_the_edge(active, devdns, clock):
    devdns.remove(HOST)
    domain = advance_to_next_check(clock, active)
    grace_until = domain.grace_until

    while domain.status == DomainStatus.MISCONFIGURED:
        domain = advance_to_next_check(clock, domain)

    assert domain.status == DomainStatus.FAILED
    assert domain.last_checked_at == grace_until
    assert not domain.is_servable
    assert EdgeOutbox.objects.filter(hostname=HOST).order_by("id").last().state == "gone"
    assert "Grace period over" in DomainEvent.objects.filter(domain=domain).first().reason


def test_a_record_restored_within_the_grace_makes_the_domain_active_again(active, devdns, clock):
    devdns.remove(HOST)
    domain = advance_to_next_check(clock, active)
    clock.shift(timedelta(hours=30))
    run_due_checks()
    assert refreshed(domain).status == DomainStatus.MISCONFIGURED

    devdns.add(HOST, "CNAME", active.target)
    domain = advance_to_next_check(clock, domain)

    assert domain.status == DomainStatus.ACTIVE
    assert domain.grace_until is None
    transitions = list(DomainEvent.objects.filter(domain=domain).order_by("id").values_list("to_status", flat=True))
    assert transitions == ["pending", "active", "misconfigured", "active"]


def test_a_servfail_on_an_active_domain_is_retried_within_a_minute_without_changing_anything(active, devdns, clock):
    devdns.fault(HOST, servfail=True)
    clock.move_to(active.next_check_at)
    run_due_checks()
    domain = refreshed(active)
    assert (domain.status, domain.last_check_outcome) == (DomainStatus.ACTIVE, "transient")

    devdns.fault(HOST)  # the name server recovers
    clock.shift(timedelta(seconds=60))
    assert run_due_checks() == 1
    assert refreshed(active).last_check_outcome == "verified"


# -- Claims ------------------------------------------------------------------------


def due_domains(acme, count: int) -> list[Domain]:
    return [DomainFactory(workspace=acme, next_check_at=T0 - timedelta(seconds=i)) for i in range(count)]


def test_two_dispatchers_never_claim_the_same_domain(acme, clock):
    domains = due_domains(acme, 10)

    first = domain_checks_claim_due(limit=6)
    second = domain_checks_claim_due(limit=6)

    assert len(first) == 6 and len(second) == 4
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == {d.pk for d in domains}
    assert domain_checks_claim_due(limit=6) == []


def test_a_claim_held_by_a_worker_that_died_is_taken_again_after_the_lease(acme, clock, settings):
    [domain] = due_domains(acme, 1)
    assert domain_checks_claim_due(limit=10) == [domain.pk]

    clock.shift(timedelta(seconds=settings.DOMAIN_CHECK_CLAIM_LEASE - 1))
    assert domain_checks_claim_due(limit=10) == []
    clock.shift(timedelta(seconds=2))
    assert domain_checks_claim_due(limit=10) == [domain.pk]


def test_a_batch_skips_domains_whose_claim_ran_out_or_that_left_the_schedule(devdns, acme, clock, settings):
    _expired, suspended = due_domains(acme, 2)
    ids = domain_checks_claim_due(limit=10)
    Domain.objects.filter(pk=suspended.pk).update(status=DomainStatus.SUSPENDED)
    clock.shift(timedelta(seconds=settings.DOMAIN_CHECK_CLAIM_LEASE + 1))

    assert domain_check_claimed(domain_ids=ids) == []


def test_suspended_and_failed_domains_are_never_claimed(acme, clock):
    for status in (DomainStatus.SUSPENDED, DomainStatus.FAILED):
        DomainFactory(workspace=acme, status=status, next_check_at=T0 - timedelta(minutes=1))

    assert domain_checks_claim_due(limit=10) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_split_the_due_domains_between_them(acme):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; CI runs this against PostgreSQL")
    domains = due_domains(acme, 200)
    claimed: list[list] = []
    barrier = threading.Barrier(4)

    def dispatcher() -> None:
        barrier.wait()
        try:
            claimed.append(domain_checks_claim_due(limit=80))
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every_claim = [pk for batch in claimed for pk in batch]
    assert len(every_claim) == len(set(every_claim)), "a domain was claimed twice"
    assert set(every_claim) == {d.pk for d in domains}
