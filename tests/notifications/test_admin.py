"""Support's admin for the event outbox: an IDN hostname shown in Unicode with its ASCII form, found by either."""

import re

import pytest

from domains.services.lifecycle import domain_create
from notifications.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.postgres

EVENTS = "/admin/notifications/event/"
IDN_SHOWN = "fotos.bücher.de (fotos.xn--bcher-kva.de)"


def result_list(response) -> str:
    """The changelist's table of rows (not the search box, which echoes the term)."""
    page = response.content.decode()
    start = page.index('<table id="result_list">')
    return page[start : page.index("</table>", start)]


def visible(rows: str) -> str:
    """What the rows show: their words without tags and attributes."""
    return re.sub(r"<[^>]+>", " ", rows)


@pytest.fixture
def idn_events(alice, acme):
    domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")
    domain_create(user=alice, workspace=acme, hostname="fotos.bücher.de")


def test_the_event_list_shows_the_unicode_name_with_the_ascii_form_only_after_it(admin_client, idn_events):
    rows = visible(result_list(admin_client.get(EVENTS)))
    assert IDN_SHOWN in rows
    assert "xn--" not in rows.replace(IDN_SHOWN, "")


@pytest.mark.parametrize("term", ["bücher.de", "xn--bcher-kva"])
def test_the_event_list_finds_the_hostname_by_either_form(admin_client, idn_events, term):
    rows = result_list(admin_client.get(EVENTS, {"q": term}))
    assert IDN_SHOWN in rows
    assert "gallery.client-domain.com" not in rows


def test_deliveries_are_found_by_their_events_unicode_hostname(admin_client, idn_events, acme):
    endpoint = WebhookEndpoint.objects.create(workspace=acme, url="https://hooks.example.com/in", secret="s" * 32)
    for event in Event.objects.all():
        WebhookDelivery.objects.create(endpoint=endpoint, event=event)
    rows = result_list(admin_client.get("/admin/notifications/webhookdelivery/", {"q": "bücher.de"}))
    assert "domain.created fotos.bücher.de" in visible(rows)  # the event column reads in Unicode too
    assert "gallery.client-domain.com" not in rows


def test_an_event_names_its_hostname_in_unicode(idn_events):
    assert str(Event.objects.get(hostname="fotos.xn--bcher-kva.de")) == "domain.created fotos.bücher.de"
