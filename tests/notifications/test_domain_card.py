"""The domain page's Notifications card: what was announced about the domain and what each webhook endpoint made
of it, newest first, for the domain's own workspace only, in the same few queries for 1 event as for 10."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from domains.services.lifecycle import domain_create
from notifications import webhooks
from notifications.events import EVENT_LABELS, EVENT_TYPES
from notifications.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres


def announce(domain, event_type: str, *, ago: timedelta = timedelta(minutes=5)) -> Event:
    """An event as the outbox receiver leaves it, `ago` in the past."""
    return Event.objects.create(
        workspace_id=domain.workspace_id,
        domain=domain,
        hostname=domain.hostname,
        type=event_type,
        payload={"type": event_type, "data": {"hostname": domain.hostname}},
        created_at=timezone.now() - ago,
    )


def endpoint_of(workspace, url: str, description: str = "") -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(workspace=workspace, url=url, description=description, secret="whsec_test")


def card_of(response) -> str:
    """The Notifications card of a domain page, as HTML."""
    html = response.content.decode()
    found = re.search(r'<section class="card notifications-card".*?</section>', html, re.S)
    assert found, "the page has no Notifications card"
    return found.group(0)


def text_of(html: str) -> str:
    """What a person reads: tags dropped (<wbr> joins the hostname back), spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def card_text(client, user, domain) -> tuple[str, str]:
    client.force_login(user)
    response = client.get(reverse("domains:detail", kwargs={"domain_id": domain.pk}))
    assert response.status_code == 200
    card = card_of(response)
    return card, text_of(card)


def test_every_event_type_has_a_label_people_can_read():
    assert set(EVENT_TYPES) <= set(EVENT_LABELS)


def test_alice_sees_each_event_with_its_label_type_time_and_what_every_endpoint_made_of_it(client, alice, acme):
    domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
    crm = endpoint_of(acme, "https://crm.example.com/hooks", description="CRM sync")
    slack = endpoint_of(acme, "https://hooks.chat-relay.example.net/ve-ai")
    created = announce(domain, "domain.created", ago=timedelta(hours=3))
    live = announce(domain, "domain.active", ago=timedelta(hours=1))
    next_try = timezone.now() + timedelta(minutes=25)
    WebhookDelivery.objects.create(
        endpoint=crm, event=created, status=DeliveryStatus.SUCCEEDED, attempts=1, last_status_code=200
    )
    WebhookDelivery.objects.create(
        endpoint=slack, event=created, status=DeliveryStatus.FAILED, attempts=8, last_status_code=500
    )
    WebhookDelivery.objects.create(
        endpoint=crm,
        event=live,
        status=DeliveryStatus.PENDING,
        attempts=1,
        last_status_code=503,
        next_attempt_at=next_try,
    )
    WebhookDelivery.objects.create(
        endpoint=slack, event=live, status=DeliveryStatus.PENDING, attempts=1, last_error="connection refused"
    )

    card, text = card_text(client, alice, domain)

    assert text.index("Domain went live domain.active") < text.index("Domain added domain.created")
    assert '<code class="event-type">domain.active</code>' in card
    assert "Retrying CRM sync (attempt 2, next at " in text and "last answer HTTP 503" in text
    assert "Retrying hooks.chat-relay.example.net (attempt 2" in text and "connection refused" in text
    assert "Delivered to CRM sync (HTTP 200)" in text
    assert "Gave up on hooks.chat-relay.example.net after 8 attempts · last answer HTTP 500" in text
    assert f'datetime="{timezone.localtime(next_try).isoformat()}"' in card
    assert f'href="{reverse("notifications:webhook_detail", args=[crm.pk])}"' in card
    assert f'href="{reverse("notifications:webhook_detail", args=[slack.pk])}"' in card
    assert "more in the last" not in text


def test_a_new_domain_shows_its_creation_on_its_way_to_the_workspaces_endpoint(client, alice, acme):
    endpoint = webhooks.endpoint_create(
        user=alice, workspace=acme, url="https://crm.example.com/hooks", events=[], description="CRM sync"
    )
    domain = domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")

    card, text = card_text(client, alice, domain)

    assert "Domain added domain.created" in text
    assert "Sending to CRM sync" in text
    assert reverse("notifications:webhook_detail", args=[endpoint.pk]) in card


def test_an_event_no_endpoint_wanted_says_it_was_not_sent(client, alice, acme):
    endpoint_of(acme, "https://crm.example.com/hooks")
    domain = DomainFactory(workspace=acme)
    announce(domain, "domain.pending")

    _, text = card_text(client, alice, domain)

    assert "Domain waiting for its DNS records domain.pending" in text
    assert "Not sent to any webhook endpoint." in text


def test_only_the_newest_ten_of_the_retention_window_are_listed_and_the_rest_counted(client, alice, acme, settings):
    settings.EVENT_RETENTION_DAYS = 30
    domain = DomainFactory(workspace=acme)
    for hours in range(1, 14):
        announce(domain, "domain.pending", ago=timedelta(hours=hours))
    announce(domain, "domain.created", ago=timedelta(days=31))  # past the window, waiting for the hourly purge

    card, text = card_text(client, alice, domain)

    assert card.count('<li class="notification-event">') == 10
    assert "3 more in the last 30 days." in text
    assert "domain.created" not in text


def test_without_endpoints_alice_is_pointed_to_the_webhooks_page_and_told_who_gets_email(client, alice, acme):
    domain = DomainFactory(workspace=acme)
    announce(domain, "domain.created")

    card, text = card_text(client, alice, domain)

    assert "goes to the workspace's owners and admins" in text
    assert f'href="{reverse("notifications:webhooks")}"' in card
    assert "Not sent to any webhook endpoint." not in text


def test_a_domain_with_nothing_announced_says_so(client, alice, acme):
    domain = DomainFactory(workspace=acme)

    _, text = card_text(client, alice, domain)

    assert "Nothing announced about this domain in the last 30 days." in text


def test_bob_a_member_reads_the_card_without_links_to_endpoint_pages(client, alice, bob, acme):
    crm = endpoint_of(acme, "https://crm.example.com/hooks", description="CRM sync")
    domain = DomainFactory(workspace=acme)
    WebhookDelivery.objects.create(
        endpoint=crm,
        event=announce(domain, "domain.active"),
        status=DeliveryStatus.SUCCEEDED,
        attempts=1,
        last_status_code=200,
    )

    card, text = card_text(client, bob, domain)

    assert "Delivered to CRM sync (HTTP 200)" in text
    assert reverse("notifications:webhook_detail", args=[crm.pk]) not in card
    assert "<a " not in card


def test_bob_without_endpoints_is_not_sent_to_add_one(client, bob, acme):
    domain = DomainFactory(workspace=acme)

    card, text = card_text(client, bob, domain)

    assert "no webhook endpoint hears about its domains" in text
    assert reverse("notifications:webhooks") not in card


def test_another_workspaces_events_and_endpoints_never_show(client, alice, acme, charlie, charlie_studio):
    ours = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
    theirs = DomainFactory(workspace=charlie_studio, hostname="gallery.client-domaim.com")
    charlies_endpoint = endpoint_of(charlie_studio, "https://charlie-crm.example.com/hooks", "Charlie CRM")
    WebhookDelivery.objects.create(
        endpoint=charlies_endpoint,
        event=announce(theirs, "domain.failed"),
        status=DeliveryStatus.SUCCEEDED,
        attempts=1,
        last_status_code=200,
    )
    ours_event = announce(ours, "domain.created")
    # Rows that name our domain from charlie's side must not leak in either (a bug elsewhere could write them).
    Event.objects.create(
        workspace=charlie_studio, domain=ours, hostname=ours.hostname, type="domain.suspended", payload={}
    )
    WebhookDelivery.objects.create(endpoint=charlies_endpoint, event=ours_event, status=DeliveryStatus.SUCCEEDED)

    card, text = card_text(client, alice, ours)

    assert "Domain added domain.created" in text
    for leaked in ("domain.failed", "domain.suspended", "Charlie CRM", str(charlies_endpoint.pk)):
        assert leaked not in card
    # Ours has no endpoint of its own: charlie's does not count as one.
    assert "goes to the workspace's owners and admins" in text


def render_card(domain, user) -> str:
    return Template("{% load notifications %}{% domain_notifications domain user %}").render(
        Context({"domain": domain, "user": user})
    )


def queries_for_card(domain, user) -> int:
    with CaptureQueriesContext(connection) as captured:
        render_card(domain, user)
    return len(captured)


def test_the_card_costs_the_same_few_queries_for_one_event_as_for_ten(alice, acme, django_assert_max_num_queries):
    endpoints = [endpoint_of(acme, f"https://hook{n}.example.com/") for n in range(3)]
    one, ten = DomainFactory(workspace=acme), DomainFactory(workspace=acme)
    for domain, count in ((one, 1), (ten, 12)):
        for n in range(count):
            event = announce(domain, "domain.pending", ago=timedelta(minutes=n + 1))
            for endpoint in endpoints:
                WebhookDelivery.objects.create(endpoint=endpoint, event=event, status=DeliveryStatus.SUCCEEDED)

    # Events, their deliveries with endpoints, the window's count, whether endpoints exist, alice's role.
    with django_assert_max_num_queries(5):
        render_card(one, alice)
    with django_assert_max_num_queries(5):
        assert render_card(ten, alice).count('<li class="notification-event">') == 10
    assert queries_for_card(one, alice) == queries_for_card(ten, alice)
