"""The webhooks pages: alice adds an endpoint and sees its secret once, tests it and reads the attempts; bob only reads."""

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from notifications import webhooks
from notifications.events import EVENT_TYPES
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.postgres


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))


def inputs_of(response) -> dict[str, dict[str, str | None]]:
    """The page's inputs by id, with their attributes as the browser reads them."""
    parser = _Inputs()
    parser.feed(response.content.decode())
    return {attributes["id"]: attributes for attributes in parser.inputs if attributes.get("id")}


def field_error(response, field: str) -> str:
    """The error shown under one field, as text; empty when the field has none."""
    found = re.search(
        rf'<p class="field-error" id="id_{field}-error" role="alert">(.*?)</p>', response.content.decode()
    )
    return unescape(found.group(1)).strip() if found else ""


def ticked(response) -> list[str]:
    return [i["value"] for i in inputs_of(response).values() if i.get("name") == "events" and "checked" in i]


def test_alice_adds_an_endpoint_sees_its_secret_once_and_reads_its_deliveries(
    client, alice, acme, receiver, loopback_allowed
):
    client.force_login(alice)
    added = client.post("/notifications/webhooks/", {"url": receiver.url, "events": ["domain.active", "domain.failed"]})
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


def test_a_url_without_https_is_refused_under_the_url_field(client, alice, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    client.force_login(alice)
    refused = client.post("/notifications/webhooks/", {"url": "http://example.com/hooks"})
    assert refused.status_code == 400
    assert field_error(refused, "url") == "The URL must start with https://."
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://x", "The URL must start with https://."),
        ("https://crm:hunter2@example.com/hooks", "The URL must not carry a user name or password."),
    ],
)
def test_a_refused_url_keeps_everything_typed_and_marks_the_url(client, alice, settings, url, reason):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    client.force_login(alice)

    refused = client.post(
        "/notifications/webhooks/",
        {"url": url, "events": ["domain.active", "domain.certificate.expired"], "description": "CRM sync"},
    )

    assert refused.status_code == 400
    assert field_error(refused, "url") == reason
    fields = inputs_of(refused)
    assert fields["id_url"]["value"] == url and fields["id_url"]["aria-invalid"] == "true"
    assert fields["id_url"]["aria-describedby"] == "id_url-error id_url-help"
    assert fields["id_description"]["value"] == "CRM sync" and "aria-invalid" not in fields["id_description"]
    assert ticked(refused) == ["domain.active", "domain.certificate.expired"]
    assert field_error(refused, "events") == "" and "message-error" not in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_missing_url_is_asked_for_under_the_url_field(client, alice):
    client.force_login(alice)
    refused = client.post("/notifications/webhooks/", {"description": "CRM sync"})
    assert refused.status_code == 400
    assert field_error(refused, "url") == "Enter the URL your receiver listens on, like https://example.com/hooks."
    assert inputs_of(refused)["id_description"]["value"] == "CRM sync"
    assert not WebhookEndpoint.objects.exists()


def test_a_description_over_200_characters_is_a_field_error_not_a_cut(client, alice):
    client.force_login(alice)
    refused = client.post("/notifications/webhooks/", {"url": "https://example.com/hooks", "description": "x" * 201})
    assert refused.status_code == 400
    assert "at most 200 characters" in field_error(refused, "description")
    assert not WebhookEndpoint.objects.exists()


def test_bob_reads_but_cannot_add_or_delete(client, alice, bob, acme):
    endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="https://example.com/hooks", events=[])
    client.force_login(bob)
    page = client.get("/notifications/webhooks/").content.decode()
    assert "example.com/hooks" in page and "Add an endpoint" not in page
    assert client.post("/notifications/webhooks/", {"url": "https://example.com/x"}).status_code == 403
    assert client.post("/notifications/webhooks/", {"events": ["domain.live"]}).status_code == 403, "refused first"
    client.post(f"/notifications/webhooks/{endpoint.pk}/", {"action": "delete"})
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_charlie_cannot_open_acmes_endpoint(client, alice, charlie, acme):
    endpoint = webhooks.endpoint_create(
        user=alice, workspace=acme, url="https://crm.acme-photo.example/hooks", events=[]
    )
    client.force_login(charlie)
    assert client.get(f"/notifications/webhooks/{endpoint.pk}/").status_code == 404
    assert "acme-photo" not in client.get("/notifications/webhooks/").content.decode()


def test_an_unknown_event_type_is_an_error_under_events_keeping_what_was_typed(client, alice):
    client.force_login(alice)

    refused = client.post(
        "/notifications/webhooks/",
        {"url": "https://example.com/hooks", "events": ["domain.active", "domain.live"], "description": "CRM sync"},
    )

    assert refused.status_code == 400
    assert field_error(refused, "events") == 'Unknown event type "domain.live": tick the types you want from the list.'
    fields = inputs_of(refused)
    assert fields["id_url"]["value"] == "https://example.com/hooks" and "aria-invalid" not in fields["id_url"]
    assert fields["id_description"]["value"] == "CRM sync"
    assert ticked(refused) == ["domain.active"]
    checkboxes = [i for i in fields.values() if i.get("name") == "events"]
    assert all(c["aria-invalid"] == "true" and c["aria-describedby"] == "id_events-error" for c in checkboxes)
    assert not WebhookEndpoint.objects.exists()


def test_the_form_offers_every_event_type_as_a_checkbox_with_a_plain_label(client, alice):
    client.force_login(alice)
    page = client.get("/notifications/webhooks/")
    offered = [i["value"] for i in inputs_of(page).values() if i.get("name") == "events"]
    # Every type but webhook.test, which "Send a test event" delivers whatever the filter says.
    assert sorted(offered) == sorted(set(EVENT_TYPES) - {"webhook.test"}) and offered[0] == "domain.created"
    assert "Domain went live" in page.content.decode() and ticked(page) == []


def test_no_event_ticked_sends_every_type(client, alice, acme):
    client.force_login(alice)
    assert client.post("/notifications/webhooks/", {"url": "https://example.com/hooks"}).status_code == 302
    endpoint = WebhookEndpoint.objects.get(workspace=acme)
    assert endpoint.events == [] and endpoint.wants("domain.deleted")


def test_certificate_event_types_are_accepted_in_the_form(client, alice, acme):
    client.force_login(alice)

    added = client.post(
        "/notifications/webhooks/",
        {"url": "https://example.com/hooks", "events": ["domain.certificate.expired", "domain.certificate.revoked"]},
    )

    assert added.status_code == 302
    assert WebhookEndpoint.objects.get(workspace=acme).events == [
        "domain.certificate.expired",
        "domain.certificate.revoked",
    ]
