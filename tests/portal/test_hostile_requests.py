"""Outside the API, crafted requests get the site's 400 page, never a 500 (PostgreSQL refuses NUL bytes)."""

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CHANGELIST = "/admin/domains/domain/"


@pytest.fixture
def as_support(client, support):
    client.force_login(support)
    return client


@pytest.mark.parametrize("query", ["status=%00", "status__exact=%00", "is_apex__exact=%00", "q=%00", "q=a%00b"])
def test_a_nul_byte_in_an_admin_filter_or_search_is_a_400(as_support, query):
    response = as_support.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 400
    assert b"Bad Request" in response.content


def test_the_admin_still_filters_and_searches(as_support):
    assert as_support.get(f"{CHANGELIST}?status__exact=active&q=gallery").status_code == 200


def test_a_nul_byte_in_the_session_cookie_is_a_400(client):
    client.cookies["sessionid"] = "abcdefghijklmnop\x00"
    assert client.get("/").status_code == 400


def test_a_nul_byte_in_a_form_field_is_a_400(client):
    response = client.post("/accounts/login/", {"username": "alice\x00", "password": "x"})
    assert response.status_code in (200, 400)  # the form's own error, or refused outright; never a 500


def test_a_nul_byte_in_an_admin_action_selection_is_a_400(as_support):
    response = as_support.post(CHANGELIST, {"action": "delete_selected", "_selected_action": ["\x00"]})
    assert response.status_code == 400
