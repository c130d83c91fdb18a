"""The domain page's Notifications card in a real browser: alice reads what each endpoint made of the domain's events
and follows one to its page; bob reads the same card without links; neither page scrolls sideways on a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from tests.browser.conftest import PHONE, ZONE
from tests.factories import DomainFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_domain_with_announced_events(workspace):
    """A live domain whose creation reached one endpoint, gave up on another, and whose going live is being retried."""
    domain = DomainFactory(workspace=workspace, hostname=f"gallery.{ZONE}", status="active")
    crm = WebhookEndpoint.objects.create(
        workspace=workspace, url="https://crm.example.com/hooks", description="CRM sync", secret="whsec_test"
    )
    relay = WebhookEndpoint.objects.create(
        workspace=workspace, url="https://hooks.chat-relay-integration.example.net/ve-ai", secret="whsec_test"
    )
    now = timezone.now()
    for event_type, ago, outcomes in (
        ("domain.created", timedelta(hours=2), {crm: (DeliveryStatus.SUCCEEDED, 1, 200), relay: ("failed", 8, 500)}),
        ("domain.active", timedelta(minutes=10), {crm: (DeliveryStatus.PENDING, 1, 503), relay: ("pending", 2, 502)}),
    ):
        event = Event.objects.create(
            workspace=workspace,
            domain=domain,
            hostname=domain.hostname,
            type=event_type,
            payload={"type": event_type},
            created_at=now - ago,
        )
        for endpoint, (status, attempts, code) in outcomes.items():
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event=event,
                status=status,
                attempts=attempts,
                last_status_code=code,
                next_attempt_at=now + timedelta(minutes=30) if status == "pending" else None,
            )
    return domain, crm


def test_alice_reads_the_notifications_card_and_follows_an_endpoint(portal, alice, acme):
    domain, crm = a_domain_with_announced_events(acme)
    page = portal.page(alice)
    page.goto(f"/domains/{domain.pk}/")

    card = page.locator(".notifications-card")
    expect(card.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(card).to_contain_text("Domain went live domain.active")
    expect(card).to_contain_text("Delivered to CRM sync (HTTP 200)")
    expect(card).to_contain_text("Gave up on hooks.chat-relay-integration.example.net after 8 attempts")
    expect(card).to_contain_text("Retrying CRM sync (attempt 2, next at")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the phone page scrolls sideways"
    portal.shoot(page, "domain-notifications")

    card.get_by_role("link", name="CRM sync").first.click()
    expect(page).to_have_url(f"{portal.url}/notifications/webhooks/{crm.pk}/")


def test_bob_reads_the_same_card_without_links_to_endpoint_pages(portal, alice, bob, acme):
    domain, _ = a_domain_with_announced_events(acme)
    page = portal.page(bob, viewport=PHONE)
    page.goto(f"/domains/{domain.pk}/")

    card = page.locator(".notifications-card")
    expect(card).to_contain_text("Delivered to CRM sync (HTTP 200)")
    expect(card.get_by_role("link")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the phone page scrolls sideways"
