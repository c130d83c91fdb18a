"""The webhooks pages: alice adds an endpoint and sees its secret once, tests it and reads the attempts; bob only reads."""

import pytest

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.postgres


def test_alice_adds_an_endpoint_sees_its_secret_once_and_reads_its_deliveries(
    client, alice, acme, receiver, loopback_allowed
):
    client.force_login(alice)
    added = client.post("/notifications/webhooks/", {"url": receiver.url, "events": "domain.active domain.failed"})
    assert added.status_code == 302
    endpoint = WebhookEndpoint.objects.get(workspace=acme)
    assert endpoint.events == ["domain.active", "domain.failed"]

    first = client.get("/notifications/webhooks/").content.decode()
    assert endpoint.secret in first and receiver.url in first
    assert endpoint.secret not in client.get("/notifications/webhooks/").content.decode()

    client.post(f"/notifications/webhooks/{endpoint.pk}/", {"action": "test"})
    webhooks.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    page = client.get(f"/notifications/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in page and "HTTP 200" in page

    client.post(f"/notifications/webhooks/{endpoint.pk}/", {"action": "delete"})
    assert not WebhookEndpoint.objects.exists()


def test_a_bad_url_is_refused_with_the_reason(client, alice, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    client.force_login(alice)
    refused = client.post("/notifications/webhooks/", {"url": "http://example.com/hooks"})
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_bob_reads_but_cannot_add_or_delete(client, alice, bob, acme):
    endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="https://example.com/hooks", events=[])
    client.force_login(bob)
    page = client.get("/notifications/webhooks/").content.decode()
    assert "example.com/hooks" in page and "Add an endpoint" not in page
    assert client.post("/notifications/webhooks/", {"url": "https://example.com/x"}).status_code == 403
    client.post(f"/notifications/webhooks/{endpoint.pk}/", {"action": "delete"})
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_charlie_cannot_open_acmes_endpoint(client, alice, charlie, acme):
    endpoint = webhooks.endpoint_create(
        user=alice, workspace=acme, url="https://crm.acme-photo.example/hooks", events=[]
    )
    client.force_login(charlie)
    assert client.get(f"/notifications/webhooks/{endpoint.pk}/").status_code == 404
    assert "acme-photo" not in client.get("/notifications/webhooks/").content.decode()


def test_an_unknown_event_type_is_a_form_error_naming_it(client, alice):
    client.force_login(alice)

    refused = client.post("/notifications/webhooks/", {"url": "https://example.com/hooks", "events": "domain.live"})

    assert refused.status_code == 400
    assert "Unknown event type &quot;domain.live&quot;" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_certificate_event_types_are_accepted_in_the_form(client, alice, acme):
    client.force_login(alice)

    added = client.post(
        "/notifications/webhooks/",
        {"url": "https://example.com/hooks", "events": "domain.certificate.expired, domain.certificate.revoked"},
    )

    assert added.status_code == 302
    assert WebhookEndpoint.objects.get(workspace=acme).events == [
        "domain.certificate.expired",
        "domain.certificate.revoked",
    ]
