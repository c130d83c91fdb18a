"""API clients for the cast, as the domains API tests use them."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from workspaces.services import api_key_create


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def as_alice(alice, acme) -> APIClient:
    _, plaintext = api_key_create(user=alice, workspace=acme, name="alice's integration")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def as_charlie(charlie) -> APIClient:
    client = APIClient()
    client.force_login(charlie)
    return client


@pytest.fixture
def receiver():
    from tests.notifications.receivers import Receiver

    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def second_receiver():
    from tests.notifications.receivers import Receiver

    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    return settings


@pytest.fixture
def smtp_server(settings):
    """Django's EMAIL_* settings pointed at a real SMTP server on loopback; `.messages` is what arrived."""
    from aiosmtpd.controller import Controller

    from tests.notifications.smtp import Mailbox, free_port

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    settings.EMAIL_TIMEOUT = 2
    yield mailbox
    controller.stop()
