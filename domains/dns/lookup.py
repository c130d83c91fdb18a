"""Ask a name's authoritative servers directly, falling back to the resolvers.

Why not just a recursive resolver: a resolver caches "this name does not
exist" for the zone's negative TTL, so a record a tenant has just added could
stay invisible for minutes. The authoritative servers know at once.

The zone cut is found by asking the resolvers for NS records, walking up the
labels of the name (an SOA in a negative answer names the zone directly).
Zones and the name-to-zone mapping are cached for a short TTL, because in a
batch most lookups would otherwise repeat that discovery.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from publicsuffixlist import PublicSuffixList

from domains.dns.config import DnsConfig, Server

# EDNS buffer size recommended by DNS Flag Day 2020: avoids IP fragmentation.
EDNS_PAYLOAD = 1232
# A zone may list many name servers; trying a few is enough to tell an outage
# from one broken server, and bounds how long one lookup can take.
MAX_AUTHORITIES_TRIED = 3
# Zones are usually cut at the registrable domain, where discovery starts; a
# zone delegated further down is reached by following the parent's referral.
MAX_REFERRALS = 3

Status = Literal["answer", "nxdomain", "nodata"]


@dataclass(frozen=True)
class Answer:
    """A definitive answer: the records of the asked type owned by the name."""

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    status: Status
    rdatas: tuple  # dns.rdata.Rdata of `rdtype`, empty unless status == "answer"
    server: str  # "ip:port"
    authoritative: bool  # False when only a resolver answered


class LookupFailed(Exception):
    """No server gave a definitive answer (timeout, SERVFAIL, REFUSED, network)."""

    def __init__(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        attempts: Sequence[str],
    ):
        self.name = name
        self.rdtype = rdtype
        self.attempts = tuple(attempts)  # one "server: reason" per server tried
        super().__init__(f"{name} {dns.rdatatype.to_text(rdtype)}: {'; '.join(self.attempts) or 'no server to ask'}")

    @property
    def last_server(self) -> str | None:
        return self.attempts[-1].split(": ", 1)[0] if self.attempts else None


class _TtlCache:
    """A small expiring map. Plain dict operations are atomic under the GIL, so
    threads share it without a lock; a race costs one repeated discovery."""

    def __init__(self, ttl: float, clock: Callable[[], float], max_entries: int = 50_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict = {}

    def get(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def set(self, key: Hashable, value: Any) -> None:
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            self._entries = {k: e for k, e in list(self._entries.items()) if e[0] > now}
            if len(self._entries) >= self._max_entries:
                self._entries = {}
        self._entries[key] = (self._clock() + self._ttl, value)


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def _registrable_domain(name: dns.name.Name) -> dns.name.Name:
    text = name.to_text(omit_final_dot=True).lower()
    registrable = _public_suffixes().privatesuffix(text)
    return dns.name.from_text(registrable) if registrable else name


def _server_text(server: Server) -> str:
    ip, port = server
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "timeout"
    if isinstance(exc, OSError):
        return f"network error ({exc.strerror or exc})"
    return f"bad response ({exc.__class__.__name__})"


class Lookup:
    """Thread-safe: one instance serves a whole batch and keeps its caches."""

    def __init__(
        self,
        config: DnsConfig,
        *,
        ns_cache_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._resolvers = config.effective_resolvers()
        self._zone_servers = _TtlCache(ns_cache_ttl, clock)  # zone -> tuple[Server, ...]
        self._zone_of = _TtlCache(ns_cache_ttl, clock)  # name -> zone
        self._host_addresses = _TtlCache(ns_cache_ttl, clock)  # NS host -> tuple[str, ...]
        self._local = threading.local()

    def query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> Answer:
        """The authoritative answer for name/type; raises LookupFailed if none is to be had."""
        attempts: list[str] = []
        servers = self._authorities(name)
        referrals = 0
        while servers:
            for server in servers[:MAX_AUTHORITIES_TRIED]:
                response = self._ask(server, name, rdtype, recursion=False, attempts=attempts)
                if response is None:
                    continue
                if response.flags & dns.flags.AA:
                    return self._answer(response, name, rdtype, server, authoritative=True)
                delegated = self._follow_referral(response, name)
                if delegated and referrals < MAX_REFERRALS:
                    referrals += 1
                    servers = delegated
                    break
                attempts.append(f"{_server_text(server)}: not authoritative")
            else:
                break
        for server in self._resolvers:
            response = self._ask(server, name, rdtype, recursion=True, attempts=attempts)
            if response is not None:
                return self._answer(response, name, rdtype, server, authoritative=False)
        raise LookupFailed(name, rdtype, attempts)

    def _follow_referral(self, response: dns.message.Message, name: dns.name.Name) -> tuple[Server, ...]:
        """The servers of a zone delegated below the one asked (cached), if this is a referral."""
        if response.answer:
            return ()
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.NS and name.is_subdomain(rrset.name):
                servers = self._addresses_of(rrset, response)
                if servers:
                    self._zone_servers.set(rrset.name, servers)
                    self._zone_of.set(name, rrset.name)
                return servers
        return ()

    def _answer(
        self,
        response: dns.message.Message,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        server: Server,
        *,
        authoritative: bool,
    ) -> Answer:
        rrset = response.get_rrset(response.answer, name, dns.rdataclass.IN, rdtype)
        if response.rcode() == dns.rcode.NXDOMAIN:
            status: Status = "nxdomain"
        else:
            status = "answer" if rrset else "nodata"
        rdatas = tuple(rrset) if rrset and status == "answer" else ()
        return Answer(name, rdtype, status, rdatas, _server_text(server), authoritative)

    def _ask(
        self,
        server: Server,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        recursion: bool,
        attempts: list[str],
    ) -> dns.message.Message | None:
        """A NOERROR or NXDOMAIN response, or None with the reason added to attempts."""
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        if not recursion:
            query.flags &= ~dns.flags.RD
        ip, port = server
        try:
            # Retries over TCP by itself when the UDP answer comes back truncated.
            response, _ = dns.query.udp_with_fallback(
                query,
                ip,
                timeout=self.config.timeout,
                port=port,
                udp_sock=self._udp_socket(ip),
                # The socket is reused: skip late answers to earlier, timed-out queries.
                ignore_unexpected=True,
                ignore_errors=True,
            )
        except (dns.exception.DNSException, OSError) as exc:
            attempts.append(f"{_server_text(server)}: {_describe(exc)}")
            return None
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            attempts.append(f"{_server_text(server)}: {dns.rcode.to_text(response.rcode())}")
            return None
        return response

    def _udp_socket(self, ip: str) -> socket.socket:
        """One UDP socket per thread and address family, reused across queries.

        Creating a socket per query costs more than the query itself at
        batch rates. dnspython matches each response to its query (id and
        source), so a stale datagram from an earlier timed-out query is skipped.
        """
        family = dns.inet.af_for_address(ip)
        sockets = getattr(self._local, "sockets", None)
        if sockets is None:
            sockets = self._local.sockets = {}
        sock = sockets.get(family)
        if sock is None:
            sock = sockets[family] = dns.query.make_socket(family, socket.SOCK_DGRAM)
        return sock

    # -- zone discovery -------------------------------------------------------

    def _authorities(self, name: dns.name.Name) -> tuple[Server, ...]:
        """Addresses of the name servers of the zone holding `name` (empty if unknown).

        The search starts at the registrable domain (client.com for
        gallery.client.com): that is where nearly every zone is cut, so a cold
        lookup costs one NS query instead of one per label. Deeper cuts come
        back as referrals (see query); shallower ones, as under a private
        suffix like github.io, are named by the SOA of a negative answer.
        """
        zone = self._zone_of.get(name)
        if zone is not None:
            servers = self._zone_servers.get(zone)
            if servers is not None:
                return servers
        walked: list[dns.name.Name] = []
        candidate = _registrable_domain(name)
        while candidate != dns.name.root:
            servers = self._zone_servers.get(candidate)
            if servers is None:
                response = self._ask_resolvers(candidate, dns.rdatatype.NS)
                if response is None:
                    return ()  # the resolvers cannot say either; query() falls back to them
                ns = response.get_rrset(
                    response.answer, candidate, dns.rdataclass.IN, dns.rdatatype.NS
                ) or response.get_rrset(response.authority, candidate, dns.rdataclass.IN, dns.rdatatype.NS)
                if ns is None:
                    walked.append(candidate)
                    candidate = self._next_candidate(response, candidate)
                    continue
                servers = self._addresses_of(ns, response)
                if not servers:
                    return ()
                self._zone_servers.set(candidate, servers)
            for below in (*walked, name):
                self._zone_of.set(below, candidate)
            return servers
        return ()

    def _next_candidate(self, response: dns.message.Message, name: dns.name.Name) -> dns.name.Name:
        """Where the zone cut may be: the SOA owner of a negative answer, else the parent."""
        if not response.answer:  # an answer (e.g. a CNAME) says nothing about the zone
            for rrset in response.authority:
                if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name) and rrset.name != name:
                    return rrset.name
        return name.parent()

    def _addresses_of(self, ns: dns.rrset.RRset, response: dns.message.Message) -> tuple[Server, ...]:
        """Name server addresses: glue from the response, else looked up via the resolvers."""
        port = self.config.nameserver_port
        servers: list[Server] = []
        for host in sorted(rdata.target for rdata in ns)[:MAX_AUTHORITIES_TRIED]:
            glue = [
                rdata.address
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                if (rrset := response.get_rrset(response.additional, host, dns.rdataclass.IN, rdtype))
                for rdata in rrset
            ]
            addresses = tuple(glue) or self._resolve_host(host)
            servers.extend((address, port) for address in addresses)
        return tuple(servers)

    def _resolve_host(self, host: dns.name.Name) -> tuple[str, ...]:
        cached = self._host_addresses.get(host)
        if cached is not None:
            return cached
        # IPv4 first: workers often have no IPv6 route, and one family is enough.
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            response = self._ask_resolvers(host, rdtype)
            rrset = response and response.get_rrset(response.answer, host, dns.rdataclass.IN, rdtype)
            if rrset:
                addresses = tuple(rdata.address for rdata in rrset)
                self._host_addresses.set(host, addresses)
                return addresses
        return ()

    def _ask_resolvers(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message | None:
        attempts: list[str] = []
        for server in self._resolvers:
            response = self._ask(server, name, rdtype, recursion=True, attempts=attempts)
            if response is not None:
                return response
        return None
