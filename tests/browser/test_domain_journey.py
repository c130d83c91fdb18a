"""A tenant connects a domain in a real browser: headless Chromium against the live portal and loopback DNS."""

import re
import time

import pytest
from playwright.sync_api import expect

from domains import services
from domains.models import Domain, DomainStatus
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOST = "gallery.client-domain.com"


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()


def test_alice_adds_a_domain_publishes_the_cname_and_checks_it_active(portal, alice, acme):
    page = portal.page()
    sign_in(page, "alice")
    expect(page.get_by_role("heading", name="Domains", exact=True)).to_be_visible()
    expect(page.get_by_text("Show your galleries on your own domain")).to_be_visible()
    portal.shoot(page, "list-empty")

    page.get_by_role("link", name="Add your first domain").click()
    field = page.get_by_label("Domain", exact=True)
    expect(field).to_be_focused()
    field.fill("gallery_photos.client-domain.com")
    page.get_by_role("button", name="Add domain").click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("Underscores (“_”) aren't allowed in hostnames")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("gallery_photos.client-domain.com")
    portal.shoot(page, "add-error")

    field.fill(HOST)
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name=HOST)).to_be_visible()
    with portal.lock:
        domain = Domain.objects.get(hostname=HOST)
    records = page.locator("table.records tbody tr")
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text("CNAME")
    expect(records.first.locator("code.value").last).to_have_text(domain.target)
    expect(page.get_by_role("button", name="Copy name gallery")).to_be_visible()
    expect(page.locator("#status-block .badge")).to_have_text("Pending")
    portal.shoot(page, "domain-pending")

    # The copy button puts the exact target on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name=f"Copy value {domain.target}").click()
    assert page.evaluate("navigator.clipboard.readText()") == domain.target
    expect(page.locator("#copy-status")).to_have_text(f"Copied {domain.target}")

    portal.dns.add(HOST, "CNAME", domain.target)
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Checked just now: DNS is set up correctly. Status: Active."
    )
    expect(page.locator("#status-block .badge")).to_have_text("Active")
    expect(page.locator("#status-block")).to_contain_text(f"{HOST} has CNAME {domain.target}")
    portal.shoot(page, "domain-active")

    page.get_by_role("link", name="← All domains").click()
    row = page.locator("table.domain-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(HOST)
    expect(row).to_contain_text("Active")
    portal.shoot(page, "list")


def test_every_status_dependent_part_turns_active_together_without_a_reload(portal, alice, acme):
    page = portal.page(alice)
    page.goto("/domains/add/")
    page.get_by_label("Domain", exact=True).fill(HOST)
    page.get_by_role("button", name="Add domain").click()
    expect(page.locator("#status-block .badge")).to_have_text("Pending")
    with portal.lock:
        domain = Domain.objects.get(hostname=HOST)
        # Far on the back-off schedule: only someone watching the page makes it due.
        Domain.objects.filter(pk=domain.pk).update(
            next_check_at=domain.created_at.replace(year=domain.created_at.year + 1)
        )
    flash = page.locator(".messages")
    expect(flash).to_contain_text(f"{HOST} was added. Create the DNS record below")
    expect(page.locator("#records-intro")).to_contain_text("create this record")
    expect(page.locator("#records-tips")).to_contain_text("this page updates by itself")
    portal.shoot(page, "domain-live-before")
    page.evaluate("window.__notReloaded = true")
    portal.dns.add(HOST, "CNAME", domain.target)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and page.locator("#status-block .badge").inner_text() != "Active":
        portal.run_due_checks()  # beat's dispatcher and a worker, while the page polls
        page.wait_for_timeout(300)
    expect(page.locator("#status-block .badge")).to_have_text("Active", timeout=5000)
    assert page.evaluate("window.__notReloaded === true"), "the page reloaded instead of updating its status block"
    expect(page.locator("#events-block")).to_contain_text("Pending → Active")
    # Every part that depends on the status moved on with the badge.
    expect(page.locator(".messages")).to_have_count(0)
    expect(page.locator("#records-intro")).to_contain_text("Keep it in place")
    expect(page.locator("#records-intro")).not_to_contain_text("create this record")
    expect(page.locator("#records-tips")).not_to_contain_text("this page updates by itself")
    status_text = page.locator("#status-block .status-text").inner_text()
    edge = page.locator("#status-block .edge")
    if edge.count() and "Going live" in edge.inner_text():
        assert not status_text.startswith("Live"), status_text
    portal.shoot(page, "domain-live-after")
    with portal.lock:
        check = domain.checks.order_by("-pk").first()
    assert check.manual is False  # the schedule found it, not a button


def test_bob_sees_the_domain_read_only_and_is_refused_when_he_posts_anyway(portal, alice, bob, acme):
    with portal.lock:
        domain = services.domain_create(user=alice, workspace=acme, hostname=HOST)
        Domain.objects.filter(pk=domain.pk).update(status=DomainStatus.FAILED)
    page = portal.page(bob, viewport=PHONE)
    page.goto(f"/domains/{domain.pk}/")
    expect(page.get_by_role("heading", name=HOST)).to_be_visible()
    expect(page.locator("#status-block .badge")).to_have_text("Failed")
    for name in ("Check now", "Retry", re.compile("^Delete")):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for action in ("check", "retry", "delete"):
        response = page.request.post(
            f"/domains/{domain.pk}/{action}/",
            form={"csrfmiddlewaretoken": token, "confirm": HOST},
            headers={"Referer": page.url},
            max_redirects=0,
        )
        assert response.status == 403, (action, response.status)
        assert "owners and admins" in response.text()
    with portal.lock:
        assert Domain.objects.get(pk=domain.pk).status == DomainStatus.FAILED


def test_charlie_gets_404_on_alices_domain_page(portal, alice, acme, charlie):
    with portal.lock:
        domain = services.domain_create(user=alice, workspace=acme, hostname=HOST)
    page = portal.page(charlie)
    response = page.goto(f"/domains/{domain.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(HOST)


def test_alice_follows_the_apex_instructions_and_deletes_the_domain_by_typing_its_name(portal, alice, acme, settings):
    settings.EDGE_APEX_ADDRESSES = ["192.0.2.44", "2001:db8::44"]
    with portal.lock:
        domain = services.domain_create(user=alice, workspace=acme, hostname="client-domain.com")
    page = portal.page(alice)
    page.goto(f"/domains/{domain.pk}/")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("TXT")
    expect(rows.nth(0)).to_contain_text("_ve-verify.client-domain.com")
    expect(rows.nth(0)).to_contain_text(domain.token)
    expect(rows.nth(1)).to_contain_text("192.0.2.44")
    expect(rows.nth(2)).to_contain_text("2001:db8::44")
    portal.shoot(page, "domain-apex")

    page.get_by_role("link", name="Delete client-domain.com…").click()
    confirm = page.get_by_label("Type client-domain.com to confirm")
    expect(confirm).to_be_focused()
    confirm.fill("client-domain")
    page.get_by_role("button", name="Delete domain").click()
    expect(page.get_by_role("alert")).to_contain_text("That doesn't match")
    portal.shoot(page, "delete-confirm")
    page.get_by_label("Type client-domain.com to confirm").fill("client-domain.com")
    page.get_by_role("button", name="Delete domain").click()
    expect(page.get_by_role("status")).to_contain_text("client-domain.com was deleted")
    expect(page.get_by_text("Show your galleries on your own domain")).to_be_visible()
    with portal.lock:
        assert not Domain.objects.filter(pk=domain.pk).exists()


def test_eleven_domains_make_a_compact_phone_list_with_each_last_check(portal, alice, acme, bob):
    with portal.lock:
        for n in range(11):
            services.domain_create(user=alice, workspace=acme, hostname=f"studio-{n:02d}.client-domain.com")
        portal.run_due_checks()
    page = portal.page(alice, viewport=PHONE)
    page.goto("/")
    rows = page.locator("table.domain-table tbody tr")
    expect(rows).to_have_count(11)
    expect(rows.first).to_contain_text("The record was not found.")
    expect(rows.first).to_contain_text("Next automatic check")
    height = page.locator("table.domain-table").bounding_box()["height"]
    assert height < 1300, f"the phone list takes {height:.0f} px for eleven domains"
    portal.shoot(page, "list-eleven")  # which also checks that no hostname breaks inside a label

    member = portal.page(bob, viewport=PHONE)
    member.goto("/")
    expect(member.get_by_text("You can view this workspace's domains; owners and admins make changes.")).to_be_visible()


def test_the_dns_table_stays_inside_its_card_at_desktop_width(portal, alice, acme):
    with portal.lock:
        domain = services.domain_create(user=alice, workspace=acme, hostname=HOST)
    page = portal.page(alice)
    page.goto(f"/domains/{domain.pk}/")
    card = page.locator("section[aria-labelledby=records-title]").bounding_box()
    table = page.locator("table.records").bounding_box()
    assert table["x"] + table["width"] <= card["x"] + card["width"], (table, card)
    purpose = page.locator("table.records tbody td").first.locator(".block").bounding_box()
    assert purpose["height"] < 45, "the type column squeezes its purpose into more than two lines"
