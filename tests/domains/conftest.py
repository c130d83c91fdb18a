"""Fixtures for the DNS check tests: the portal pointed at the loopback DNS server."""

import pytest

from domains.dns import get_checker

ZONE = "client-domain.com"


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
