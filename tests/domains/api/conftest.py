"""API clients for the cast: alice with her owner key, bob and charlie with sessions."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from workspaces.services import api_key_create


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # throttle buckets live in the cache
    yield
    cache.clear()


@pytest.fixture
def alice_key(alice, acme) -> str:
    _, plaintext = api_key_create(user=alice, workspace=acme, name="alice's integration")
    return plaintext


@pytest.fixture
def as_alice(alice_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_key}")
    return client


@pytest.fixture
def as_bob(bob) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(bob)
    return client


@pytest.fixture
def as_charlie(charlie) -> APIClient:
    client = APIClient()
    client.force_login(charlie)
    return client


@pytest.fixture
def anonymous(db) -> APIClient:
    return APIClient()


def error_of(response) -> dict:
    """The one error shape every failure has."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body["error"]
