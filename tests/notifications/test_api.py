"""The webhooks API as the cast uses it: alice's owner key manages, bob reads, charlie never sees Acme's."""

import pytest
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from notifications import webhooks
from notifications.events import EVENT_TYPES
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.postgres

URL = "/api/v1/webhooks/"


@pytest.fixture
def as_bob(bob) -> APIClient:
    client = APIClient()
    client.force_login(bob)
    return client


def test_alice_adds_an_endpoint_and_sees_its_secret_once(as_alice, acme, receiver, loopback_allowed):
    created = as_alice.post(
        URL, {"url": receiver.url, "events": ["domain.active"], "description": "CRM"}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["domain.active"] and body["enabled"]
    assert WebhookEndpoint.objects.get(workspace=acme).secret == body["secret"]
    again = as_alice.get(f"{URL}{body['id']}/").json()
    assert "secret" not in again and again["url"] == receiver.url
    assert [e["id"] for e in as_alice.get(URL).json()["results"]] == [body["id"]]


def test_the_test_event_is_delivered_and_its_attempt_listed_then_redelivered(
    as_alice, alice, acme, receiver, loopback_allowed
):
    endpoint = as_alice.post(URL, {"url": receiver.url}, format="json").json()

    queued = as_alice.post(f"{URL}{endpoint['id']}/test/")
    assert queued.status_code == 202 and queued.json()["event_type"] == "webhook.test"
    webhooks.delivery_attempt(delivery_id=queued.json()["id"])
    Webhook(endpoint["secret"]).verify(receiver.received[0].body, receiver.received[0].headers)

    (delivery,) = as_alice.get(f"{URL}{endpoint['id']}/deliveries/").json()["results"]
    assert delivery["status"] == "succeeded" and delivery["attempt_log"][0]["status_code"] == 200
    redone = as_alice.post(f"{URL}{endpoint['id']}/deliveries/{delivery['id']}/redeliver/")
    assert redone.status_code == 202 and redone.json()["status"] == "pending"


def test_an_http_url_is_a_field_error_in_production(as_alice, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    refused = as_alice.post(URL, {"url": "http://example.com/hooks"}, format="json")
    assert refused.status_code == 400
    assert "https" in refused.json()["error"]["fields"]["url"][0]


def test_alice_disables_and_deletes_an_endpoint(as_alice, acme):
    endpoint = as_alice.post(URL, {"url": "https://example.com/hooks"}, format="json").json()
    changed = as_alice.patch(f"{URL}{endpoint['id']}/", {"enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert as_alice.delete(f"{URL}{endpoint['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(workspace=acme).exists()


def test_bob_reads_but_cannot_add(as_bob, as_alice):
    endpoint = as_alice.post(URL, {"url": "https://example.com/hooks"}, format="json").json()
    assert [e["id"] for e in as_bob.get(URL).json()["results"]] == [endpoint["id"]]
    refused = as_bob.post(URL, {"url": "https://example.com/other"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"]


def test_charlie_never_sees_acmes_endpoints_or_deliveries(as_charlie, as_alice):
    endpoint = as_alice.post(URL, {"url": "https://example.com/hooks"}, format="json").json()
    assert as_charlie.get(URL).json()["results"] == []
    for method, path in [
        ("get", f"{URL}{endpoint['id']}/"),
        ("get", f"{URL}{endpoint['id']}/deliveries/"),
        ("post", f"{URL}{endpoint['id']}/test/"),
        ("delete", f"{URL}{endpoint['id']}/"),
    ]:
        assert getattr(as_charlie, method)(path).status_code == 404, path
    assert WebhookDelivery.objects.count() == 0


def test_support_sees_endpoints_and_deliveries_in_the_admin_but_never_the_secret(client, support, as_alice):
    from django.contrib.auth.models import Permission

    support.user_permissions.add(*Permission.objects.filter(content_type__app_label="notifications"))
    endpoint = as_alice.post(URL, {"url": "https://example.com/hooks"}, format="json").json()
    client.force_login(support)

    page = client.get(f"/admin/notifications/webhookendpoint/{endpoint['id']}/change/")
    assert page.status_code == 200 and "example.com/hooks" in page.content.decode()
    assert endpoint["secret"] not in page.content.decode()
    assert client.get("/admin/notifications/webhookdelivery/").status_code == 200


def test_an_unknown_event_type_is_a_field_error_naming_it_and_adds_nothing(as_alice, acme):
    refused = as_alice.post(
        URL, {"url": "https://example.com/hooks", "events": ["domain.active", "domain.activ"]}, format="json"
    )

    assert refused.status_code == 400
    (message,) = refused.json()["error"]["fields"]["events.1"]
    assert message.startswith('Unknown event type "domain.activ".') and "domain.certificate.expired" in message
    assert not WebhookEndpoint.objects.filter(workspace=acme).exists()


def test_a_change_to_an_unknown_event_type_is_refused_and_the_filter_kept(as_alice):
    endpoint = as_alice.post(
        URL, {"url": "https://example.com/hooks", "events": ["domain.certificate.expired"]}, format="json"
    ).json()

    refused = as_alice.patch(f"{URL}{endpoint['id']}/", {"events": ["domain.certificate.expiring"]}, format="json")

    assert (
        refused.status_code == 400 and "domain.certificate.expiring" in refused.json()["error"]["fields"]["events.0"][0]
    )
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).events == ["domain.certificate.expired"]


def test_the_openapi_schema_lists_every_event_type_for_the_filter(client):
    schema = client.get("/api/schema/?format=json").json()

    items = schema["components"]["schemas"]["WebhookEndpoint"]["properties"]["events"]["items"]
    enum = items.get("enum") or schema["components"]["schemas"][items["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == list(EVENT_TYPES)
