"""Workspace API keys: shown once, stored as a hash, one workspace, revocable, last use noted sparingly."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from workspaces.models import ApiKey
from workspaces.roles import NotAllowed
from workspaces.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.postgres

PAGE = "/workspace/api-keys/"


def bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


class TestService:
    def test_a_key_has_a_recognisable_prefix_and_only_its_hash_is_stored(self, alice, acme):
        key, plaintext = api_key_create(user=alice, workspace=acme, name="Zapier")
        assert plaintext.startswith(f"vek_{key.key_id}_") and len(plaintext) > 40
        assert key.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        stored = ApiKey.objects.filter(pk=key.pk).values().get()
        assert not any(plaintext in str(value) for value in stored.values())
        assert str(key).endswith(f"({key.display_prefix}…)")

    def test_members_cannot_create_or_revoke_keys(self, alice, bob, acme):
        with pytest.raises(NotAllowed):
            api_key_create(user=bob, workspace=acme, name="mine")
        key, _ = api_key_create(user=alice, workspace=acme, name="alice's")
        with pytest.raises(NotAllowed):
            api_key_revoke(user=bob, key=key)

    def test_another_workspaces_owner_cannot_revoke_a_key(self, alice, charlie, acme):
        key, _ = api_key_create(user=alice, workspace=acme, name="alice's")
        with pytest.raises(NotAllowed):
            api_key_revoke(user=charlie, key=key)

    def test_a_revoked_key_stops_working_at_once(self, alice, acme):
        key, plaintext = api_key_create(user=alice, workspace=acme, name="k")
        client = bearer(plaintext)
        assert client.get("/api/v1/domains/").status_code == 200
        api_key_revoke(user=alice, key=key)
        assert client.get("/api/v1/domains/").status_code == 401

    def test_a_tampered_secret_is_refused(self, alice, acme):
        _, plaintext = api_key_create(user=alice, workspace=acme, name="k")
        assert bearer(plaintext[:-2] + "xx").get("/api/v1/domains/").status_code == 401

    def test_last_used_at_is_written_at_most_once_a_minute(self, alice, acme, time_machine, django_assert_num_queries):
        time_machine.move_to("2030-01-01 12:00:00Z", tick=False)
        key, plaintext = api_key_create(user=alice, workspace=acme, name="k")
        client = bearer(plaintext)
        client.get("/api/v1/domains/")
        key.refresh_from_db()
        first = key.last_used_at
        assert first == timezone.now()
        time_machine.move_to("2030-01-01 12:00:30Z", tick=False)
        client.get("/api/v1/domains/")
        key.refresh_from_db()
        assert key.last_used_at == first
        time_machine.move_to("2030-01-01 12:01:01Z", tick=False)
        client.get("/api/v1/domains/")
        key.refresh_from_db()
        assert key.last_used_at - first == timedelta(seconds=61)


class TestPage:
    def test_an_owner_creates_a_key_and_sees_it_once_after_the_redirect(self, client, alice, acme):
        client.force_login(alice)
        response = client.post(PAGE, {"name": "Deploy script"})
        assert response.status_code == 302 and response["Location"] == PAGE
        assert ApiKey.objects.count() == 1
        shown = client.get(PAGE)
        plaintext = shown.context["plaintext"]
        assert plaintext.startswith("vek_") and plaintext in shown.content.decode()
        assert f'data-copy="{plaintext}"' in shown.content.decode()
        assert shown["Cache-Control"] == "no-store"
        # A reload shows the list, not the secret, and creates nothing.
        again = client.get(PAGE).content.decode()
        assert plaintext not in again
        assert "Deploy script" in again and ApiKey.objects.get().display_prefix in again
        assert ApiKey.objects.count() == 1
        assert bearer(plaintext).get("/api/v1/domains/").status_code == 200

    def test_revoking_asks_for_confirmation_first(self, client, alice, acme):
        key, _ = api_key_create(user=alice, workspace=acme, name="old")
        client.force_login(alice)
        page = client.get(PAGE).content.decode()
        assert f'href="{PAGE}{key.pk}/revoke/"' in page
        confirm = client.get(f"{PAGE}{key.pk}/revoke/")
        assert confirm.status_code == 200 and "Revoke “old”?" in confirm.content.decode()
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_a_member_is_told_what_they_can_do(self, client, alice, bob, acme):
        key, _ = api_key_create(user=alice, workspace=acme, name="k")
        client.force_login(bob)
        assert "owners and admins create and revoke them" in client.get(PAGE).content.decode()
        assert client.get(f"{PAGE}{key.pk}/revoke/").status_code == 403

    def test_a_name_is_required(self, client, alice):
        client.force_login(alice)
        response = client.post(PAGE, {"name": "  "})
        assert response.status_code == 400 and not ApiKey.objects.exists()

    def test_an_owner_revokes_a_key(self, client, alice, acme):
        key, plaintext = api_key_create(user=alice, workspace=acme, name="old")
        client.force_login(alice)
        response = client.post(f"{PAGE}{key.pk}/revoke/", follow=True)
        assert "Revoked" in response.content.decode()
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert bearer(plaintext).get("/api/v1/domains/").status_code == 401

    def test_a_member_sees_the_keys_but_cannot_create_or_revoke(self, client, alice, bob, acme):
        key, _ = api_key_create(user=alice, workspace=acme, name="alice's")
        client.force_login(bob)
        page = client.get(PAGE).content.decode()
        assert "alice&#x27;s" in page and "Create key" not in page
        assert client.post(PAGE, {"name": "bob's"}).status_code == 403
        assert client.post(f"{PAGE}{key.pk}/revoke/").status_code == 403
        key.refresh_from_db()
        assert key.revoked_at is None and ApiKey.objects.count() == 1

    def test_another_workspaces_key_is_404(self, client, alice, charlie, acme):
        key, _ = api_key_create(user=alice, workspace=acme, name="alice's")
        client.force_login(charlie)
        assert client.post(f"{PAGE}{key.pk}/revoke/").status_code == 404
        assert "alice" not in client.get(PAGE).content.decode()

    def test_signed_out_people_are_sent_to_sign_in(self, client, db):
        response = client.get(PAGE)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class TestWorkspacePage:
    def test_it_shows_the_name_the_ws_id_and_the_members_with_their_roles(self, client, alice, bob, acme):
        client.force_login(bob)
        page = client.get("/workspace/about/").content.decode()
        assert acme.name in page and acme.public_id in page and acme.public_id.startswith("ws_")
        assert f'data-copy="{acme.public_id}"' in page
        assert "alice" in page and "Owner" in page and "bob" in page and "Member" in page
        assert 'href="/workspace/about/" aria-current="page">Workspace</a>' in page

    def test_the_api_docs_use_the_menus_words(self, client):
        from django.conf import settings

        description = settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
        assert "Workspace → API keys" not in description
        assert "API keys page" in description and "Workspace page" in description
