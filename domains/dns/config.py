"""Settings of the DNS checker, as a plain value that needs no Django to build."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dns.resolver

Server = tuple[str, int]  # (IP address, port)

DEFAULT_CNAME_ZONE = "domain.ve.ai"
DEFAULT_TIMEOUT = 2.0
DEFAULT_DEADLINE = 10.0


def parse_server(text: str, default_port: int = 53) -> Server:
    """'192.0.2.1', '192.0.2.1:5353', '2001:db8::1' or '[2001:db8::1]:5353'."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    return str(ipaddress.ip_address(host)), port


def _split(value: str | Iterable[str] | None) -> list[str]:
    """Comma-separated text, or an already split list, without blanks."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if item and item.strip()]


def _flag(value: bool | str) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class DnsConfig:
    """Where and how the checker asks, and what proves a domain.

    `resolvers` are used to find a zone's name servers (and as the fallback when
    none of those answers); empty means the system's /etc/resolv.conf. The
    zone's own name servers are always asked on `nameserver_port`. `timeout` is
    per query to one server, in seconds; `deadline` is all one check may take,
    every query, retry, TCP fallback and hop included. Name servers at private,
    loopback or link-local addresses are asked only with
    `allow_private_nameservers` (the local stack and tests, whose DNS server
    is on loopback); the resolvers are configured, so always asked.
    """

    resolvers: tuple[Server, ...] = ()
    nameserver_port: int = 53
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    allow_private_nameservers: bool = False
    cname_zone: str = DEFAULT_CNAME_ZONE
    edge_apex_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.deadline <= 0:
            raise ValueError("the DNS timeout and deadline must be positive")
        # Normalised here so that every comparison later is a plain equality.
        object.__setattr__(self, "cname_zone", self.cname_zone.strip().rstrip(".").lower())
        object.__setattr__(
            self,
            "edge_apex_addresses",
            tuple(str(ipaddress.ip_address(a.strip())) for a in self.edge_apex_addresses),
        )

    @classmethod
    def from_values(
        cls,
        *,
        resolvers: str | Iterable[str] | None = None,
        nameserver_port: int | str = 53,
        timeout: float | str = DEFAULT_TIMEOUT,
        deadline: float | str = DEFAULT_DEADLINE,
        allow_private_nameservers: bool | str = False,
        cname_zone: str = DEFAULT_CNAME_ZONE,
        edge_apex_addresses: str | Iterable[str] | None = None,
    ) -> DnsConfig:
        """Build from setting-style values: comma-separated text or lists."""
        return cls(
            resolvers=tuple(parse_server(s) for s in _split(resolvers)),
            nameserver_port=int(nameserver_port),
            timeout=float(timeout),
            deadline=float(deadline),
            allow_private_nameservers=_flag(allow_private_nameservers),
            cname_zone=cname_zone,
            edge_apex_addresses=tuple(_split(edge_apex_addresses)),
        )

    @classmethod
    def from_settings(cls, settings: Any = None) -> DnsConfig:
        """Read the DNS_* settings, EDGE_APEX_ADDRESSES and CNAME_ZONE."""
        if settings is None:
            from django.conf import (
                settings,
            )  # imported late: this package must not need Django

        return cls.from_values(
            resolvers=getattr(settings, "DNS_RESOLVERS", None),
            nameserver_port=getattr(settings, "DNS_NAMESERVER_PORT", 53),
            timeout=getattr(settings, "DNS_TIMEOUT", DEFAULT_TIMEOUT),
            deadline=getattr(settings, "DNS_CHECK_DEADLINE", DEFAULT_DEADLINE),
            allow_private_nameservers=getattr(settings, "DNS_ALLOW_PRIVATE_NAMESERVERS", False),
            cname_zone=getattr(settings, "CNAME_ZONE", DEFAULT_CNAME_ZONE),
            edge_apex_addresses=getattr(settings, "EDGE_APEX_ADDRESSES", None),
        )

    def effective_resolvers(self) -> tuple[Server, ...]:
        """The configured resolvers, else the system's."""
        if self.resolvers:
            return self.resolvers
        system = dns.resolver.Resolver(configure=True)
        return tuple((str(ip), system.port) for ip in system.nameservers)
