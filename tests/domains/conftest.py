"""Fixtures for the DNS check tests: the portal pointed at the loopback DNS server."""

import pytest

from domains.dns import get_checker

ZONE = "client-domain.com"


@pytest.fixture(autouse=True)
def _dns_stays_on_loopback(settings):
    """No test here ever asks a real resolver, even one that queues a check by the way
    (adding a domain does): unless it uses `devdns`, DNS goes to a closed loopback port.
    """
    settings.DNS_RESOLVERS = ["127.0.0.1:9"]
    settings.DNS_NAMESERVER_PORT = 9
    settings.DNS_TIMEOUT = 0.2
    settings.DNS_ALLOW_PRIVATE_NAMESERVERS = True  # devdns, like everything here, is on loopback
    get_checker.cache_clear()
    yield
    get_checker.cache_clear()


@pytest.fixture
def devdns(dns_server, settings):
    """The dns_server fixture with the portal's DNS settings pointing at it.

    The customer's zone exists (it holds an unrelated record), so a missing
    record is a definitive NXDOMAIN rather than a refused query.
    """
    settings.DNS_RESOLVERS = [dns_server.address]
    settings.DNS_NAMESERVER_PORT = dns_server.port
    settings.DNS_TIMEOUT = 0.3
    get_checker.cache_clear()  # the process-wide checker was built from the old settings
    dns_server.add(f"www.{ZONE}", "A", "192.0.2.1")
    yield dns_server
    get_checker.cache_clear()


@pytest.fixture
def eager_celery(monkeypatch, settings):
    """Queued tasks run at once, in this process, as a worker would run them.

    Edge deliveries queued by a status change run too: they go to a closed
    loopback port, never to AWS, and simply fail (the sweep would retry them).
    """
    from portal.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    settings.DYNAMODB_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.DYNAMODB_CONNECT_TIMEOUT = 0.2
    settings.DYNAMODB_MAX_ATTEMPTS = 1
