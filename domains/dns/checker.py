"""The rules that decide whether DNS proves a domain, and the batch runner.

Subdomain: a CNAME chain (at most MAX_CNAME_HOPS, no loops) from the hostname
to its unique target `<token>.<CNAME_ZONE>`. A chain ending at the shared
`CNAME_ZONE` also needs TXT `_ve-verify.<hostname>` holding the token, since
anyone can point at the shared name (subdomain takeover).

Apex: TXT `_ve-verify.<hostname>` with the token, and A/AAAA records all
among EDGE_APEX_ADDRESSES when that is configured.

Names inside CNAME_ZONE are ours: the chain stops there without asking.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import dns.name
import dns.rdata
import dns.rdatatype

from domains.dns.config import DnsConfig
from domains.dns.lookup import Answer, Lookup, LookupFailed
from domains.dns.result import CheckRequest, CheckResult, Hop, Outcome

MAX_CNAME_HOPS = 8
VERIFY_LABEL = "_ve-verify"
DEFAULT_CONCURRENCY = 64


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _hop(answer: Answer) -> Hop:
    return Hop(
        name=_text(answer.name),
        type=dns.rdatatype.to_text(answer.rdtype),
        status=answer.status,
        records=tuple(_record_text(rdata) for rdata in answer.rdatas),
        server=answer.server,
        authoritative=answer.authoritative,
    )


def _record_text(rdata: dns.rdata.Rdata) -> str:
    if rdata.rdtype == dns.rdatatype.CNAME:
        return _text(rdata.target)
    if rdata.rdtype == dns.rdatatype.TXT:
        return _txt_value(rdata)
    return rdata.to_text()


def _txt_value(rdata: dns.rdata.Rdata) -> str:
    # A TXT record may be split into several strings (255 bytes each at most);
    # its value is their concatenation.
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


def _failed_hop(failure: LookupFailed) -> Hop:
    return Hop(
        name=_text(failure.name),
        type=dns.rdatatype.to_text(failure.rdtype),
        status="error",
        server=failure.last_server,
        error="; ".join(failure.attempts) or "no server to ask",
    )


class _Transient(Exception):
    def __init__(self, failure: LookupFailed, hops: Sequence[Hop]) -> None:
        self.failure = failure
        self.hops = (*hops, _failed_hop(failure))


class DomainChecker:
    """Checks hostnames against DNS. Thread-safe; keep one per process for its caches.

    check(request) never raises for DNS trouble: that is a `transient` outcome.
    """

    def __init__(self, config: DnsConfig, *, ns_cache_ttl: float = 60.0) -> None:
        self.config = config
        self._lookup = Lookup(config, ns_cache_ttl=ns_cache_ttl)
        self._shared_target = dns.name.from_text(config.cname_zone)
        self._edge_addresses = frozenset(ipaddress.ip_address(a) for a in config.edge_apex_addresses)

    def check(self, request: CheckRequest) -> CheckResult:
        started = time.perf_counter()
        host = dns.name.from_text(request.hostname.strip())
        target = dns.name.from_text(request.target or f"{request.token}.{self.config.cname_zone}")
        verify_name = dns.name.Name((VERIFY_LABEL, *host.labels))
        expected = self._expected(request, host, target, verify_name)
        hops: list[Hop] = []
        try:
            if request.is_apex:
                outcome, message = self._check_apex(request, host, verify_name, hops)
            else:
                outcome, message = self._check_subdomain(request, host, target, verify_name, hops)
        except _Transient as transient:
            hops = list(transient.hops)
            outcome = Outcome.TRANSIENT
            message = self._transient_message(host, transient.failure)
        return CheckResult(
            hostname=_text(host),
            outcome=outcome,
            expected=expected,
            hops=tuple(hops),
            message=message,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    def check_many(
        self,
        requests: Sequence[CheckRequest],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> list[CheckResult]:
        """Check many hostnames at once; results come back in the order of `requests`.

        Threads rather than asyncio: each check is a short sequence of
        dependent queries spent waiting on the network, the same code serves
        single checks, and dnspython's blocking calls release the GIL.
        """
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(concurrency, len(requests)), thread_name_prefix="dns-check") as pool:
            return list(pool.map(self.check, requests))

    # -- rules ------------------------------------------------------------------

    def _query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, hops: list[Hop]) -> Answer:
        try:
            answer = self._lookup.query(name, rdtype)
        except LookupFailed as failure:
            raise _Transient(failure, hops) from failure
        hops.append(_hop(answer))
        return answer

    def _check_subdomain(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        target: dns.name.Name,
        verify_name: dns.name.Name,
        hops: list[Hop],
    ) -> tuple[Outcome, str]:
        chain = [host]
        while True:
            current = chain[-1]
            if current == target:
                return Outcome.VERIFIED, f"{_text(host)} points to {_text(target)}."
            if current == self._shared_target:
                return self._check_token(request, host, verify_name, hops, via_shared=True)
            if current.is_subdomain(self._shared_target):
                return Outcome.WRONG_TARGET, (
                    f"{_text(host)} points to {_text(current)}, which is not this domain's "
                    f"target; it must point to {_text(target)}."
                )
            if len(chain) > MAX_CNAME_HOPS:
                return Outcome.WRONG_TARGET, (
                    f"{_text(host)} has a chain of more than {MAX_CNAME_HOPS} CNAME records; "
                    f"point it directly to {_text(target)}."
                )
            answer = self._query(current, dns.rdatatype.CNAME, hops)
            if answer.status == "answer":
                following = answer.rdatas[0].target
                if following in chain:
                    loop = " → ".join(_text(n) for n in (*chain[chain.index(following) :], following))
                    return Outcome.WRONG_TARGET, (
                        f"{_text(host)} has a CNAME loop ({loop}); it must point to {_text(target)}."
                    )
                chain.append(following)
                continue
            if current != host:
                return Outcome.WRONG_TARGET, self._wrong_chain_message(chain, target)
            if answer.status == "nxdomain":
                return Outcome.MISSING, (
                    f"{_text(host)} does not exist in DNS yet; add a CNAME record pointing to {_text(target)}."
                )
            return self._no_cname_at_host(host, target, hops)

    def _no_cname_at_host(self, host: dns.name.Name, target: dns.name.Name, hops: list[Hop]) -> tuple[Outcome, str]:
        """The hostname exists without a CNAME: say what it has instead, if anything."""
        addresses = [
            record
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            for record in (_record_text(r) for r in self._query(host, rdtype, hops).rdatas)
        ]
        if addresses:
            return Outcome.WRONG_TARGET, (
                f"{_text(host)} has address records ({', '.join(addresses)}) instead of a CNAME; "
                f"replace them with a CNAME record pointing to {_text(target)}."
            )
        return Outcome.MISSING, (f"{_text(host)} has no CNAME record; add one pointing to {_text(target)}.")

    def _wrong_chain_message(self, chain: list[dns.name.Name], target: dns.name.Name) -> str:
        host, first, end = chain[0], chain[1], chain[-1]
        via = "" if first == end else f", which leads to {_text(end)}"
        return f"{_text(host)} has a CNAME to {_text(first)}{via}; it must point to {_text(target)}."

    def _check_token(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        verify_name: dns.name.Name,
        hops: list[Hop],
        *,
        via_shared: bool,
    ) -> tuple[Outcome, str]:
        answer = self._query(verify_name, dns.rdatatype.TXT, hops)
        values = [_txt_value(rdata).strip() for rdata in answer.rdatas]
        token = request.token.strip().lower()
        if token and any(value.lower() == token for value in values):
            reason = f"points to {self.config.cname_zone} and " if via_shared else ""
            return (
                Outcome.VERIFIED,
                f"{_text(host)} {reason}has the verification TXT record.",
            )
        has = f"has TXT {', '.join(repr(v) for v in values)} but not" if values else "has no TXT record with"
        if via_shared:
            return Outcome.TOKEN_MISSING, (
                f"{_text(host)} points to the shared {self.config.cname_zone}, and {_text(verify_name)} "
                f"{has} the token {request.token}; add that TXT record, or point the CNAME to "
                f"{request.token}.{self.config.cname_zone} instead."
            )
        return Outcome.TOKEN_MISSING, (
            f"{_text(verify_name)} {has} the token {request.token}; add a TXT record "
            f"{_text(verify_name)} with the value {request.token}."
        )

    def _check_apex(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        verify_name: dns.name.Name,
        hops: list[Hop],
    ) -> tuple[Outcome, str]:
        token_outcome, token_message = self._check_token(request, host, verify_name, hops, via_shared=False)
        if not self._edge_addresses:
            return token_outcome, token_message

        answers = [self._query(host, rdtype, hops) for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]
        found = [ipaddress.ip_address(r.address) for answer in answers for r in answer.rdatas]
        allowed = ", ".join(self.config.edge_apex_addresses)
        if not found:
            address_outcome = Outcome.MISSING
            address_problem = f"{_text(host)} has no A record; add A/AAAA records for {allowed}"
        elif foreign := [str(a) for a in found if a not in self._edge_addresses]:
            address_outcome = Outcome.WRONG_TARGET
            address_problem = (
                f"{_text(host)} has address records ({', '.join(foreign)}) that are not VE.AI's; "
                f"they must be among {allowed}"
            )
        else:
            if token_outcome is Outcome.VERIFIED:
                return Outcome.VERIFIED, (
                    f"{_text(host)} has the verification TXT record and points to VE.AI's addresses."
                )
            return token_outcome, token_message

        if token_outcome is Outcome.VERIFIED:
            return address_outcome, f"{address_problem}."
        # Both are wrong: name both fixes, so the tenant does not come back twice.
        return (
            address_outcome,
            f"{address_problem}; also, {token_message[0].lower()}{token_message[1:]}",
        )

    # -- descriptions -------------------------------------------------------------

    def _expected(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        target: dns.name.Name,
        verify_name: dns.name.Name,
    ) -> dict:
        txt = {"name": _text(verify_name), "type": "TXT", "value": request.token}
        if request.is_apex:
            expected: dict = {"kind": "apex", "txt": txt}
            if self.config.edge_apex_addresses:
                expected["addresses"] = list(self.config.edge_apex_addresses)
            return expected
        return {
            "kind": "subdomain",
            "cname": {"name": _text(host), "type": "CNAME", "value": _text(target)},
            "or": {
                "cname": {
                    "name": _text(host),
                    "type": "CNAME",
                    "value": self.config.cname_zone,
                },
                "txt": txt,
            },
        }

    @staticmethod
    def _transient_message(host: dns.name.Name, failure: LookupFailed) -> str:
        reasons = "; ".join(failure.attempts) or "no name server found"
        return (
            f"DNS did not answer about {_text(failure.name)} ({reasons}); nothing about "
            f"{_text(host)} changes, and it will be checked again shortly."
        )


@functools.cache
def get_checker() -> DomainChecker:
    """The process-wide checker built from Django settings (its caches live here).

    Call get_checker.cache_clear() after changing DNS settings, e.g. in tests.
    """
    return DomainChecker(DnsConfig.from_settings())
