"""One webhook POST: only to public addresses (loopback when the local stack allows it), within its time limits."""

import time

import pytest

from notifications import http


def post(url: str) -> http.Answer:
    return http.post(url=url, body=b'{"type": "webhook.test"}', headers={"webhook-id": "msg_1"})


def test_loopback_is_refused_unless_the_setting_allows_it_and_nothing_is_sent(receiver, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(http.DeliveryRefused, match="127.0.0.1, not a public address"):
        post(receiver.url)
    with pytest.raises(http.DeliveryRefused, match="not a public address"):
        post(receiver.url.replace("127.0.0.1", "localhost"))
    with pytest.raises(http.DeliveryRefused, match="not a public address"):
        post(receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]"))
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.7]/hooks",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
    ],
)
def test_private_link_local_and_mapped_addresses_are_refused_even_with_loopback_allowed(url, loopback_allowed):
    with pytest.raises(http.DeliveryRefused):
        post(url)


def test_production_wants_https(settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(http.DeliveryRefused, match="https"):
        post("http://example.com/hooks")
    assert http.url_problem("https://user:pw@example.com/") == "The URL must not carry a user name or password."
    assert http.url_problem("https://example.com/hooks") is None


def test_the_receiver_gets_our_headers_and_we_keep_a_few_kb_of_its_answer(receiver, loopback_allowed):
    receiver.answer = b"x" * 100_000

    answer = post(receiver.url + "?tenant=acme")

    assert answer.status == 200 and len(answer.excerpt) == 4096
    (got,) = receiver.received
    assert got.path == "/hooks?tenant=acme" and got.body == b'{"type": "webhook.test"}'
    assert got.headers["webhook-id"] == "msg_1" and got.headers["Content-Type"] == "application/json"


def test_a_redirect_is_not_followed(receiver, second_receiver, loopback_allowed):
    receiver.status, receiver.location = 302, second_receiver.url

    answer = post(receiver.url)

    assert answer.status == 302
    assert second_receiver.received == []


def test_a_receiver_slower_than_the_total_limit_is_given_up_on_time(receiver, loopback_allowed):
    loopback_allowed.WEBHOOK_TIMEOUT = 0.5
    receiver.delay = 3

    started = time.monotonic()
    with pytest.raises(http.DeliveryFailed, match="timed out"):
        post(receiver.url)
    assert time.monotonic() - started < 1.5


def test_a_closed_port_is_a_failure_not_a_hang(loopback_allowed):
    with pytest.raises(http.DeliveryFailed):
        post("http://127.0.0.1:9/hooks")
