"""An IDN domain in a real browser: the page names it in Unicode, with the ASCII form DNS uses as a detail."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_domain_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_adds_an_idn_domain_and_reads_its_check_in_unicode(portal, alice, acme):
    portal.dns.add("www.xn--bcher-kva.de", "A", "192.0.2.1")  # the zone exists; fotos does not yet
    page = portal.page()
    sign_in(page, "alice")
    page.goto("/domains/add/")
    page.get_by_label("Domain", exact=True).fill("Fotos.Bücher.de")
    page.get_by_role("button", name="Add domain").click()

    expect(page.get_by_role("heading", name="fotos.bücher.de")).to_be_visible()
    expect(page.get_by_text("In DNS: fotos.xn--bcher-kva.de")).to_be_visible()
    page.get_by_role("button", name="Check now").click()
    check = page.locator("#status-block .check")
    expect(check).to_contain_text("fotos.bücher.de (fotos.xn--bcher-kva.de) does not exist in DNS yet")
    expect(check.locator(".hops")).to_contain_text("fotos.bücher.de (fotos.xn--bcher-kva.de) does not exist")
    # The record to publish keeps the ASCII name DNS needs.
    expect(page.locator("table.records")).to_contain_text("fotos.xn--bcher-kva.de")
    portal.shoot(page, "domain-idn")
