"""Support staff issue API keys in the admin, acting as one of the workspace's owners or admins."""

import pytest
from rest_framework.test import APIClient

from workspaces.models import ApiKey
from workspaces.roles import NotAllowed
from workspaces.services import api_key_create_by_staff

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/workspaces/apikey/add/"


def test_support_issues_a_key_that_works_for_the_workspace_as_its_owner(support, alice, acme):
    key, plaintext = api_key_create_by_staff(staff_user=support, workspace=acme, acting_as=alice, name="Zapier")

    assert key.created_by == alice and key.workspace == acme
    response = APIClient().get("/api/v1/domains/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200


def test_a_key_cannot_act_as_a_member_or_an_outsider(support, bob, charlie, acme):
    for user in (bob, charlie):
        with pytest.raises(NotAllowed, match="not an owner or admin"):
            api_key_create_by_staff(staff_user=support, workspace=acme, acting_as=user, name="x")
    assert not ApiKey.objects.exists()


def test_staff_without_permission_cannot_issue(staff_without_permission, alice, acme):
    with pytest.raises(NotAllowed):
        api_key_create_by_staff(staff_user=staff_without_permission, workspace=acme, acting_as=alice, name="x")


def test_the_admin_page_shows_the_secret_once_and_stores_only_its_hash(client, support, alice, acme):
    client.force_login(support)

    response = client.post(ADD_URL, {"workspace": acme.pk, "acting_as": alice.pk, "name": "Zapier"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    plaintext = response.context["plaintext"]
    assert plaintext.startswith(key.display_prefix) and plaintext.encode() in response.content
    assert plaintext not in key.secret_hash
    assert plaintext.encode() not in client.get(f"/admin/workspaces/apikey/{key.pk}/change/").content


def test_the_admin_form_explains_a_refusal(client, support, charlie, acme):
    client.force_login(support)

    response = client.post(ADD_URL, {"workspace": acme.pk, "acting_as": charlie.pk, "name": "Zapier"})

    assert b"charlie is not an owner or admin of Acme Photo" in response.content
    assert not ApiKey.objects.exists()


def test_staff_without_permission_get_no_add_page(client, staff_without_permission):
    client.force_login(staff_without_permission)

    assert client.get(ADD_URL).status_code == 403
