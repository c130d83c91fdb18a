"""Sign-in is rate-limited per account and per address (django-axes), for the web UI and the admin alike."""

import pytest
from django.test import Client
from django.test.utils import override_settings

from portal.clients import client_address

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture(autouse=True)
def three_failures_allowed(settings):
    settings.AXES_FAILURE_LIMIT = 3


def sign_in(username: str, password: str, *, address: str, url: str = LOGIN):
    return Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302


def test_a_correct_password_signs_in_below_the_limit(alice):
    for _ in range(2):
        assert sign_in("alice", "wrong", address="198.51.100.1").status_code == 200
    assert signed_in(sign_in("alice", PASSWORD, address="198.51.100.1"))


def test_an_account_is_locked_whichever_addresses_the_guesses_came_from(alice):
    for i in range(3):
        sign_in("alice", "wrong", address=f"198.51.100.{i}")

    response = sign_in("alice", PASSWORD, address="203.0.113.50")

    assert response.status_code == 429 and b"Too many failed sign-ins" in response.content
    page = response.content.decode()
    assert "<h1>Signing in is paused</h1>" in page and "Try again in 15 minutes." in page  # the site's page


def test_an_address_is_locked_whichever_accounts_it_guessed(alice, bob):
    for name in ("carol", "dave", "erin"):
        sign_in(name, "wrong", address="198.51.100.7")

    assert sign_in("bob", PASSWORD, address="198.51.100.7").status_code == 429
    assert signed_in(sign_in("bob", PASSWORD, address="203.0.113.8"))


def test_signing_in_to_ones_own_account_does_not_reset_an_address_that_guesses(alice, bob):
    sign_in("bob", "wrong", address="198.51.100.9")
    sign_in("bob", "wrong", address="198.51.100.9")
    assert signed_in(sign_in("alice", PASSWORD, address="198.51.100.9"))

    sign_in("bob", "wrong", address="198.51.100.9")

    assert sign_in("alice", PASSWORD, address="198.51.100.9").status_code == 429


def test_the_admins_sign_in_counts_too(support):
    for _ in range(3):
        sign_in("support", "wrong", address="198.51.100.20", url="/admin/login/")
    assert sign_in("support", PASSWORD, address="198.51.100.21", url="/admin/login/").status_code == 429


def test_the_lock_lifts_after_the_window(alice, time_machine):
    time_machine.move_to("2030-01-01 12:00Z", tick=False)
    for _ in range(3):
        sign_in("alice", "wrong", address="198.51.100.30")
    assert sign_in("alice", PASSWORD, address="198.51.100.31").status_code == 429

    time_machine.move_to("2030-01-01 12:16Z", tick=False)

    assert signed_in(sign_in("alice", PASSWORD, address="198.51.100.31"))


class TestClientAddress:
    """Behind N load balancers the address is the one the outermost saw; what the client wrote is ignored."""

    def request(self, forwarded: str | None, remote: str = "10.0.0.2"):
        meta = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded
        return type("Request", (), {"META": meta})()

    def test_without_trusted_proxies_x_forwarded_for_is_ignored(self, settings):
        settings.TRUSTED_PROXY_COUNT = 0
        assert client_address(self.request("203.0.113.9")) == "10.0.0.2"

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_a_spoofed_prefix_changes_nothing(self):
        assert client_address(self.request("203.0.113.9")) == "203.0.113.9"
        assert client_address(self.request("1.2.3.4, 203.0.113.9")) == "203.0.113.9"
        assert client_address(self.request(None)) == "10.0.0.2"

    @override_settings(TRUSTED_PROXY_COUNT=2)
    def test_behind_two_proxies(self):
        assert client_address(self.request("1.2.3.4, 203.0.113.9, 10.0.0.1")) == "203.0.113.9"
        assert client_address(self.request("203.0.113.9")) == "203.0.113.9"

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_sign_in_limits_count_that_address(self, alice):
        for i in range(3):
            Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 203.0.113.77").post(
                LOGIN, {"username": f"nobody{i}", "password": "wrong"}
            )
        locked = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77")
        assert locked.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
        other = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.78")
        assert other.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 302
