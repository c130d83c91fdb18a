"""The webhooks pages in a real browser: an owner adds an endpoint by ticking event types (a refused URL keeps what
she typed and ticked), sees its secret once (with Copy), tests it against a real receiver on loopback, reads the
delivery log, disables it and deletes it after confirming; a member only reads."""

import re

import pytest
from playwright.sync_api import expect

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint
from tests.notifications.receivers import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# Long enough to push a 375 px page sideways if nothing lets it wrap.
LONG_PATH = "/hooks/ve-ai/domain-events/a-rather-long-integration-path-that-never-breaks"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    running = Receiver().start()
    yield running
    running.stop()


def assert_no_sideways_scroll_on_a_phone(page) -> None:
    original = page.viewport_size
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the phone page scrolls sideways"
    page.set_viewport_size(original)


def assert_events_in_two_columns_on_a_desktop_and_one_on_a_phone(page) -> None:
    original = page.viewport_size
    boxes = page.locator("input[name=events]")
    for size, columns in ((DESKTOP, 2), (PHONE, 1)):
        page.set_viewport_size(size)
        lefts = {round(boxes.nth(i).bounding_box()["x"]) for i in range(boxes.count())}
        assert len(lefts) == columns, f"{len(lefts)} columns of event types at {size['width']} px"
    page.set_viewport_size(original)


def test_alice_adds_an_endpoint_tests_it_reads_the_log_then_disables_and_deletes_it(portal, alice, acme, receiver):
    url = receiver.url.replace("/hooks", LONG_PATH)
    page = portal.page(alice)
    page.goto("/")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    # A URL carrying credentials first: refused under its field, with everything typed and ticked still there.
    page.get_by_label("URL").fill(url.replace("://", "://crm:hunter2@"))
    page.get_by_role("checkbox", name="Domain went live").check()
    page.get_by_role("checkbox", name="Domain failed").check()
    page.get_by_label("Description").fill("CRM sync")
    assert_events_in_two_columns_on_a_desktop_and_one_on_a_phone(page)
    page.get_by_role("button", name="Add endpoint").click()

    url_field = page.get_by_label("URL")
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(url_field).to_have_accessible_description(re.compile("must not carry a user name or password"))
    expect(page.get_by_role("checkbox", name="Domain went live")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Domain failed")).to_be_checked()
    expect(page.locator("input[name=events]:checked")).to_have_count(2)
    expect(page.get_by_label("Description")).to_have_value("CRM sync")
    with portal.lock:
        assert not WebhookEndpoint.objects.exists()
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-form-error")

    url_field.fill(url)
    page.get_by_role("button", name="Add endpoint").click()

    secret = page.locator("#new-webhook-secret")
    expect(secret).to_contain_text("whsec_")
    plaintext = secret.inner_text().strip()
    with portal.lock:
        endpoint = WebhookEndpoint.objects.get(workspace=acme)
    assert plaintext == endpoint.secret and page.url.endswith("/notifications/webhooks/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the signing secret").click()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-added")

    page.reload()
    expect(page.locator("#new-webhook-secret")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(plaintext)
    with portal.lock:
        assert WebhookEndpoint.objects.count() == 1
    row = page.get_by_role("row").filter(has_text="CRM sync")
    expect(row).to_contain_text("domain.active, domain.failed")
    expect(row).to_contain_text("Enabled")

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="CRM sync", level=1)).to_be_visible()  # its name leads, the URL follows
    expect(page.locator(".endpoint-url")).to_have_text(url)
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status")).to_contain_text("A webhook.test event is on its way.")
    expect(page.locator(".delivery")).to_contain_text("Pending")
    with portal.lock:  # what the worker does with the queued delivery
        webhooks.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    (got,) = receiver.received
    assert got.headers["webhook-id"] and b'"webhook.test"' in got.body

    page.reload()
    delivery = page.locator(".delivery")
    expect(delivery).to_contain_text("webhook.test")
    expect(delivery).to_contain_text("Delivered")
    expect(delivery.locator(".attempt")).to_have_count(1)
    expect(delivery.locator(".attempt")).to_contain_text("HTTP 200")
    expect(delivery.locator(".attempt")).to_contain_text(" ms")
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-delivery-log")

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("disabled")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Disabled: turned off by an owner or admin · events")
    expect(page.locator("main")).not_to_contain_text("Disabled: Disabled")
    with portal.lock:
        assert WebhookEndpoint.objects.get().enabled is False

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete this endpoint?")).to_be_visible()
    with portal.lock:
        assert WebhookEndpoint.objects.exists(), "asking is not deleting"
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-delete-confirm")
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_role("status")).to_contain_text("Endpoint removed.")
    assert page.url.endswith("/notifications/webhooks/")
    expect(page.locator("body")).to_contain_text("No endpoints yet.")
    with portal.lock:
        assert not WebhookEndpoint.objects.exists()


def test_a_cancelled_delete_keeps_the_endpoint(portal, alice, acme):
    endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="https://example.com/hooks", events=[])
    page = portal.page(alice)
    page.goto(f"/notifications/webhooks/{endpoint.pk}/")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("button", name="Send a test event")).to_be_visible()
    with portal.lock:
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_bob_a_member_reads_the_endpoints_and_their_log_without_any_button(portal, alice, bob, acme, receiver):
    endpoint = webhooks.endpoint_create(
        user=alice, workspace=acme, url=receiver.url.replace("/hooks", LONG_PATH), events=[], description="CRM sync"
    )
    delivery = webhooks.endpoint_test(user=alice, endpoint=endpoint)
    receiver.status, receiver.answer = (
        500,
        b'{"error":"database_is_down_while_the_replica_catches_up_please_retry_later"}',
    )
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    given_up = webhooks.endpoint_create(user=alice, workspace=acme, url="https://example.com/old", events=[])
    WebhookEndpoint.objects.filter(pk=given_up.pk).update(enabled=False, disabled_reason=webhooks.disabled_reason())

    page = portal.page(bob)
    page.goto("/notifications/webhooks/")
    expect(page.locator(".read-only-notice")).to_contain_text("owners and admins")
    expect(page.get_by_role("row").filter(has_text="CRM sync")).to_contain_text("Enabled")
    expect(page.get_by_role("row").filter(has_text="example.com/old")).to_contain_text("Disabled: failing for 5 days")
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    expect(page.get_by_label("URL")).to_have_count(0)
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-member-list")

    page.get_by_role("row").filter(has_text="CRM sync").get_by_role("link").click()
    expect(page.locator(".read-only-notice")).to_contain_text("owners and admins")
    attempt = page.locator(".delivery .attempt")
    expect(attempt).to_contain_text("HTTP 500")
    expect(attempt).to_contain_text("database_is_down")
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete…")).to_have_count(0)
    assert_no_sideways_scroll_on_a_phone(page)
    portal.shoot(page, "webhooks-member-detail")
