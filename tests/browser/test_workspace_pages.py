"""The workspace's own pages in a real browser: API keys (POST/redirect/GET, copy, confirm revoke)."""

import pytest
from playwright.sync_api import expect

from workspaces.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_creates_a_key_copies_it_reloads_and_revokes_it_after_confirming(portal, alice, acme):
    page = portal.page(alice)
    page.goto("/workspace/api-keys/")
    create = page.get_by_role("button", name="Create key")
    expect(create).to_have_class("button button-primary")
    page.get_by_label("Name").fill("Deploy script")
    create.click()
    secret = page.locator("#new-key-value")
    expect(secret).to_contain_text("vek_")
    plaintext = secret.inner_text().strip()
    assert page.url.endswith("/workspace/api-keys/")
    portal.shoot(page, "api-keys-created")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the new API key").click()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext

    page.reload()
    expect(page.locator("#new-key-value")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(plaintext)
    with portal.lock:
        assert ApiKey.objects.count() == 1
    portal.shoot(page, "api-keys-reloaded")

    page.get_by_role("link", name="Revoke Deploy script…").click()
    expect(page.get_by_role("heading", name="Revoke “Deploy script”?")).to_be_visible()
    with portal.lock:
        assert ApiKey.objects.get().revoked_at is None
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked “Deploy script”")
    with portal.lock:
        assert ApiKey.objects.get().revoked_at is not None


def test_the_workspace_page_shows_its_id_to_copy_and_its_members(portal, alice, bob, acme):
    page = portal.page(alice)
    page.goto("/")
    page.get_by_role("link", name="Workspace", exact=True).click()
    expect(page.get_by_role("heading", name=acme.name, exact=True)).to_be_visible()
    expect(page.locator("#workspace-id")).to_have_text(acme.public_id)
    members = page.locator("table.members-table tbody tr")
    expect(members).to_have_count(2)
    expect(members.first).to_contain_text("alice")
    expect(members.first).to_contain_text("Owner")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name=f"Copy workspace id {acme.public_id}").click()
    assert page.evaluate("navigator.clipboard.readText()") == acme.public_id
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the phone page scrolls sideways"
    menu_rows = page.evaluate("new Set([...document.querySelectorAll('.mainnav a')].map(a => a.offsetTop)).size")
    assert menu_rows == 1, "the phone menu wraps onto a second line"
    page.set_viewport_size({"width": 1280, "height": 900})
    portal.shoot(page, "workspace")
