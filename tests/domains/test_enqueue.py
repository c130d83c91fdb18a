"""enqueue_on_commit never fails the caller, and stops knocking on a broker that is down."""

import time

import pytest

from domains import enqueue


@pytest.fixture
def broker_down(settings):
    """Celery pointed at a loopback port nothing listens on."""
    from portal.celery import app

    def fresh_connections():
        # Drop pooled connections so the next publish connects to the current URL.
        app._pool = None
        app.amqp._producer_pool = None

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    fresh_connections()
    yield
    app.conf.broker_url = original
    fresh_connections()


@pytest.mark.django_db
def test_a_broker_that_is_down_is_logged_and_then_left_alone_for_a_while(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue.enqueue_on_commit("domains.check_domain", "first", host="a.client-domain.com")
    assert "could not queue domains.check_domain" in caplog.text
    assert "Connection refused" in caplog.text

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue.enqueue_on_commit("domains.check_domain", "second", host="b.client-domain.com")
    assert time.monotonic() - started < 0.2
    assert "leaving domains.check_domain to the periodic sweep" in caplog.text
