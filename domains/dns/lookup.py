"""Ask a name's authoritative servers directly, falling back to the resolvers.

Why not just a recursive resolver: a resolver caches "this name does not
exist" for the zone's negative TTL, so a record a tenant has just added could
stay invisible for minutes. The authoritative servers know at once.

The zone cut is found by asking the resolvers for NS records, walking up the
labels of the name (an SOA in a negative answer names the zone directly).
Zones and the name-to-zone mapping are cached for a short TTL, because in a
batch most lookups would otherwise repeat that discovery.

A tenant controls its own name servers, so everything they say is hostile
input:

- Every query, retry, TCP fallback and referral of one check shares one
  `Deadline`; when it runs out the lookup raises `DeadlineExceeded`.
- A referral is followed only if it makes progress: to a zone that is an
  ancestor of the name asked and strictly below the zone of the server that
  referred (the bailiwick rule), with glue used only for name servers inside
  that zone. So a tenant's server can speak only for names under its own zone,
  in the answer and in the shared caches.
- Addresses learned from DNS (glue, name server addresses) are asked only when
  they are public (`is_public_address`), unless the configuration allows
  private ones (the local stack and tests, whose DNS is on loopback).
- The configured resolvers are ours: answers they give carry no server
  address (`Answer.server` is None) and failures name them only as "resolver".
"""

from __future__ import annotations

import functools
import ipaddress
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
# How the configured resolvers are named in attempts: never by their address.
RESOLVER = "resolver"
# NAT64's well-known prefix: the last 32 bits are an IPv4 address (RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Whether a name server at this address may be asked: only addresses on the public internet.

    Not private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local
    (169.254/16 with the metadata service, fe80::/10), shared (100.64/10),
    unspecified, reserved, documentation, multicast or broadcast, nor an IPv6
    form of such an IPv4 address (mapped, 6to4, NAT64).
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


class Deadline:
    """The time one check may spend on DNS, shared by every query it makes."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


Status = Literal["answer", "nxdomain", "nodata"]


@dataclass(frozen=True)
class Answer:
    """A definitive answer: the records of the asked type owned by the name."""

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    status: Status
    rdatas: tuple  # dns.rdata.Rdata of `rdtype`, empty unless status == "answer"
    server: str | None  # "ip:port" of the zone's name server; None when a resolver answered
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
        self.attempts = tuple(attempts)  # one "server: reason" per server tried ("resolver: reason")
        super().__init__(f"{name} {dns.rdatatype.to_text(rdtype)}: {'; '.join(self.attempts) or 'no server to ask'}")

    @property
    def last_server(self) -> str | None:
        """The name server tried last ("ip:port"); None when that was a resolver."""
        server = self.attempts[-1].split(": ", 1)[0] if self.attempts else None
        return None if server == RESOLVER else server


class DeadlineExceeded(LookupFailed):
    """The check's deadline ran out before a definitive answer."""

    def __init__(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        attempts: Sequence[str],
        seconds: float,
    ):
        self.seconds = seconds
        super().__init__(name, rdtype, attempts)


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
def public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def _registrable_domain(name: dns.name.Name) -> dns.name.Name:
    text = name.to_text(omit_final_dot=True).lower()
    registrable = public_suffixes().privatesuffix(text)
    return dns.name.from_text(registrable) if registrable else name


def _server_text(server: Server) -> str:
    ip, port = server
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "timeout"
    if isinstance(exc, OSError):
        return f"network error ({exc.strerror or exc.__class__.__name__})"
    if isinstance(exc, EOFError):
        return "connection closed without an answer"
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

    def query(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        deadline: Deadline | None = None,
    ) -> Answer:
        """The authoritative answer for name/type.

        Raises DeadlineExceeded when the deadline (by default a fresh one of
        config.deadline) runs out first, LookupFailed if no answer is to be had.
        """
        deadline = deadline or Deadline(self.config.deadline)
        attempts: list[str] = []
        zone, servers = self._authorities(name, deadline, attempts)
        referrals = 0
        while servers:
            for server in servers[:MAX_AUTHORITIES_TRIED]:
                response = self._ask(server, name, rdtype, recursion=False, attempts=attempts, deadline=deadline)
                if response is None:
                    continue
                if response.flags & dns.flags.AA:
                    return self._answer(response, name, rdtype, _server_text(server), authoritative=True)
                delegated = None
                if zone is not None and referrals < MAX_REFERRALS:
                    delegated = self._follow_referral(response, name, zone, deadline, attempts)
                if delegated:
                    referrals += 1
                    zone, servers = delegated
                    break
                attempts.append(f"{_server_text(server)}: not authoritative")
            else:
                break
        for server in self._resolvers:
            response = self._ask(
                server, name, rdtype, recursion=True, attempts=attempts, deadline=deadline, label=RESOLVER
            )
            if response is not None:
                return self._answer(response, name, rdtype, None, authoritative=False)
        if deadline.expired:
            raise DeadlineExceeded(name, rdtype, attempts, deadline.seconds)
        raise LookupFailed(name, rdtype, attempts)

    def _follow_referral(
        self,
        response: dns.message.Message,
        name: dns.name.Name,
        zone: dns.name.Name,
        deadline: Deadline,
        attempts: list[str],
    ) -> tuple[dns.name.Name, tuple[Server, ...]] | None:
        """The zone a referral delegates to and its servers (cached), if it makes progress.

        Only a zone that holds `name` and lies strictly below `zone`, the zone
        of the server that referred, is followed (the bailiwick rule): a
        server cannot speak for another zone, nor send the client round in
        circles. Glue counts only for name servers inside the new zone.
        """
        if response.answer:
            return None
        for rrset in response.authority:
            child = rrset.name
            if rrset.rdtype != dns.rdatatype.NS or child == zone:
                continue
            if not (name.is_subdomain(child) and child.is_subdomain(zone)):
                continue
            servers = self._addresses_of(rrset, response, deadline, attempts, glue_zone=child)
            if not servers:
                return None
            self._zone_servers.set(child, servers)
            self._zone_of.set(name, child)
            return child, servers
        return None

    def _answer(
        self,
        response: dns.message.Message,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        server: str | None,
        *,
        authoritative: bool,
    ) -> Answer:
        rrset = response.get_rrset(response.answer, name, dns.rdataclass.IN, rdtype)
        if response.rcode() == dns.rcode.NXDOMAIN:
            status: Status = "nxdomain"
        else:
            status = "answer" if rrset else "nodata"
        rdatas = tuple(rrset) if rrset and status == "answer" else ()
        return Answer(name, rdtype, status, rdatas, server, authoritative)

    def _ask(
        self,
        server: Server,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        recursion: bool,
        attempts: list[str],
        deadline: Deadline,
        label: str | None = None,
    ) -> dns.message.Message | None:
        """A NOERROR or NXDOMAIN response, or None with the reason added to attempts.

        Each try (UDP, then TCP when the UDP answer is truncated) waits at most
        config.timeout and never past the deadline; DeadlineExceeded once it is gone.
        """
        label = label or _server_text(server)
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        if not recursion:
            query.flags &= ~dns.flags.RD
        ip, port = server
        try:
            try:
                response = dns.query.udp(
                    query,
                    ip,
                    timeout=self._timeout(name, rdtype, attempts, deadline),
                    port=port,
                    sock=self._udp_socket(ip),
                    # The socket is reused: skip late answers to earlier, timed-out queries.
                    ignore_unexpected=True,
                    ignore_errors=True,
                    raise_on_truncation=True,
                )
            except dns.message.Truncated:
                response = dns.query.tcp(query, ip, timeout=self._timeout(name, rdtype, attempts, deadline), port=port)
        except DeadlineExceeded:
            raise
        except Exception as exc:  # whatever bytes a server sends, or however it hangs up: one failed try
            attempts.append(f"{label}: {_describe(exc)}")
            return None
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            attempts.append(f"{label}: {dns.rcode.to_text(response.rcode())}")
            return None
        return response

    def _timeout(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, attempts: list[str], deadline: Deadline
    ) -> float:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(name, rdtype, attempts, deadline.seconds)
        return min(self.config.timeout, remaining)

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

    def _authorities(
        self, name: dns.name.Name, deadline: Deadline, attempts: list[str]
    ) -> tuple[dns.name.Name | None, tuple[Server, ...]]:
        """The zone holding `name` and the addresses of its name servers (None, () if unknown).

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
                return zone, servers
        walked: list[dns.name.Name] = []
        candidate = _registrable_domain(name)
        while candidate != dns.name.root:
            servers = self._zone_servers.get(candidate)
            if servers is None:
                response = self._ask_resolvers(candidate, dns.rdatatype.NS, deadline)
                if response is None:
                    return None, ()  # the resolvers cannot say either; query() falls back to them
                ns = response.get_rrset(
                    response.answer, candidate, dns.rdataclass.IN, dns.rdatatype.NS
                ) or response.get_rrset(response.authority, candidate, dns.rdataclass.IN, dns.rdatatype.NS)
                if ns is None:
                    walked.append(candidate)
                    candidate = self._next_candidate(response, candidate)
                    continue
                # The resolvers are ours, so their additional records count for any host.
                servers = self._addresses_of(ns, response, deadline, attempts, glue_zone=dns.name.root)
                if not servers:
                    return candidate, ()
                self._zone_servers.set(candidate, servers)
            for below in (*walked, name):
                self._zone_of.set(below, candidate)
            return candidate, servers
        return None, ()

    def _next_candidate(self, response: dns.message.Message, name: dns.name.Name) -> dns.name.Name:
        """Where the zone cut may be: the SOA owner of a negative answer, else the parent."""
        if not response.answer:  # an answer (e.g. a CNAME) says nothing about the zone
            for rrset in response.authority:
                if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name) and rrset.name != name:
                    return rrset.name
        return name.parent()

    def _addresses_of(
        self,
        ns: dns.rrset.RRset,
        response: dns.message.Message,
        deadline: Deadline,
        attempts: list[str],
        *,
        glue_zone: dns.name.Name,
    ) -> tuple[Server, ...]:
        """Addresses of the zone's name servers that may be asked.

        Glue from the response counts only for hosts inside `glue_zone`; other
        hosts are looked up through the resolvers. Unless the configuration
        allows it, addresses that are not public are dropped (and said so).
        """
        port = self.config.nameserver_port
        servers: list[Server] = []
        dropped = False
        for host in sorted(rdata.target for rdata in ns)[:MAX_AUTHORITIES_TRIED]:
            glue = [
                rdata.address
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                if host.is_subdomain(glue_zone)
                if (rrset := response.get_rrset(response.additional, host, dns.rdataclass.IN, rdtype))
                for rdata in rrset
            ]
            addresses = tuple(glue) or self._resolve_host(host, deadline)
            allowed = [a for a in addresses if self.config.allow_private_nameservers or is_public_address(a)]
            dropped = dropped or len(allowed) < len(addresses)
            servers.extend((address, port) for address in allowed)
        if dropped and not servers:
            attempts.append(f"{ns.name.to_text(omit_final_dot=True)}: its name servers have no public address")
        return tuple(servers)

    def _resolve_host(self, host: dns.name.Name, deadline: Deadline) -> tuple[str, ...]:
        cached = self._host_addresses.get(host)
        if cached is not None:
            return cached
        # IPv4 first: workers often have no IPv6 route, and one family is enough.
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            response = self._ask_resolvers(host, rdtype, deadline)
            rrset = response and response.get_rrset(response.answer, host, dns.rdataclass.IN, rdtype)
            if rrset:
                addresses = tuple(rdata.address for rdata in rrset)
                self._host_addresses.set(host, addresses)
                return addresses
        return ()

    def _ask_resolvers(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, deadline: Deadline
    ) -> dns.message.Message | None:
        attempts: list[str] = []
        for server in self._resolvers:
            response = self._ask(
                server, name, rdtype, recursion=True, attempts=attempts, deadline=deadline, label=RESOLVER
            )
            if response is not None:
                return response
        return None
