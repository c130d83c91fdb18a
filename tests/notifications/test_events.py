"""Every creation, status change and deletion of a domain leaves one event in the outbox, in the same transaction."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from domains.models import DomainStatus
from domains.services.lifecycle import SYSTEM, domain_create, domain_delete, domain_transition
from notifications import services
from notifications.events import EVENT_TYPES
from notifications.models import Event
from notifications.tasks import events_purge

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"


def types_of(workspace) -> list[str]:
    return list(Event.objects.filter(workspace=workspace).order_by("created_at", "id").values_list("type", flat=True))


def test_adding_a_domain_publishes_domain_created_with_the_api_domain_object(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)

    event = Event.objects.get(workspace=acme)
    assert event.type == "domain.created" and event.domain == domain and event.hostname == HOST
    assert set(event.payload) == {"type", "timestamp", "data"}
    assert event.payload["type"] == "domain.created"
    data = event.payload["data"]
    assert data["id"] == str(domain.pk) and data["hostname"] == HOST and data["status"] == "pending"
    assert data["previous_status"] is None
    assert {"records", "certificate", "edge_state", "verified_at"} <= set(data)


def test_each_status_change_publishes_domain_new_status_with_the_previous_one(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    domain_transition(domain=domain, to_status=DomainStatus.MISCONFIGURED, actor=SYSTEM, reason="record gone")

    assert types_of(acme) == ["domain.created", "domain.active", "domain.misconfigured"]
    latest = Event.objects.filter(workspace=acme).first()
    assert latest.payload["data"]["status"] == "misconfigured"
    assert latest.payload["data"]["previous_status"] == "active"


def test_saving_fields_without_a_status_change_publishes_nothing(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.PENDING, actor=SYSTEM, reason="still waiting")
    assert types_of(acme) == ["domain.created"]


def test_a_change_that_rolls_back_leaves_no_event(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    with pytest.raises(RuntimeError), transaction.atomic():
        domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
        raise RuntimeError("the rest of the change failed")

    domain.refresh_from_db()
    assert domain.status == DomainStatus.PENDING
    assert types_of(acme) == ["domain.created"]


def test_deleting_a_domain_publishes_domain_deleted_that_outlives_it(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    domain_delete(user=alice, domain=domain)

    deleted = Event.objects.get(workspace=acme, type="domain.deleted")
    assert deleted.domain is None and deleted.hostname == HOST
    assert deleted.payload["data"]["hostname"] == HOST
    assert deleted.payload["data"]["previous_status"] == "active"
    assert Event.objects.filter(workspace=acme).count() == 3


def test_events_are_kept_thirty_days(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    old = Event.objects.get(workspace=acme)
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30, minutes=1))
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    recent = Event.objects.get(workspace=acme, type="domain.active")
    Event.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=29, hours=23))

    events_purge()

    assert types_of(acme) == ["domain.active"]
    assert services.events_purge() == 0


class TestPerDomainInTheApi:
    def test_alice_reads_her_domains_events_newest_first_with_their_message_ids(self, as_alice, alice, acme):
        domain = domain_create(user=alice, workspace=acme, hostname=HOST)
        domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
        other = domain_create(user=alice, workspace=acme, hostname=f"shop.{HOST}")

        response = as_alice.get(f"/api/v1/domains/{domain.pk}/notification-events/")

        assert response.status_code == 200
        results = response.json()["results"]
        assert [e["type"] for e in results] == ["domain.active", "domain.created"]
        assert results[0]["id"] == f"msg_{Event.objects.get(type='domain.active').pk.hex}"
        assert results[0]["payload"]["data"]["status"] == "active"
        assert str(other.pk) not in {e["payload"]["data"]["id"] for e in results}

    def test_charlie_cannot_read_acmes_events(self, as_charlie, alice, acme):
        domain = domain_create(user=alice, workspace=acme, hostname=HOST)
        response = as_charlie.get(f"/api/v1/domains/{domain.pk}/notification-events/")
        assert response.status_code == 404
        assert HOST not in response.content.decode()


def test_every_type_a_domain_publishes_is_in_the_catalogue_webhook_filters_are_checked_against(alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    for status in [*DomainStatus.values[1:], DomainStatus.PENDING]:  # it starts pending
        domain_transition(domain=domain, to_status=status, actor=SYSTEM, reason="every status once")
    domain_delete(user=alice, domain=domain)

    published = set(types_of(acme))
    assert published == {"domain.created", "domain.deleted", *(f"domain.{status}" for status in DomainStatus.values)}
    assert published <= set(EVENT_TYPES)
    assert {"webhook.test", "domain.certificate.issued", "domain.certificate.expired"} <= set(EVENT_TYPES)
