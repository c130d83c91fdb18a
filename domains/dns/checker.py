"""The rules that decide whether DNS proves a domain, and the batch runner.

Subdomain: a CNAME chain (at most MAX_CNAME_HOPS, no loops) from the hostname
to its unique target `<token>.<CNAME_ZONE>`. A chain ending at the shared
`CNAME_ZONE` also needs TXT `_ve-verify.<hostname>` holding the token, since
anyone can point at the shared name (subdomain takeover).

Apex: TXT `_ve-verify.<hostname>` with the token, and A/AAAA records all
among EDGE_APEX_ADDRESSES when that is configured.

Names inside CNAME_ZONE are ours: the chain stops there without asking; so
are names outside every public suffix (corp.internal, .local): they exist only
behind some resolver, and what it says about them is not the tenant's to read.

A check never outlives its deadline (DnsConfig.deadline): every question of
one check shares it, and when it runs out the check is transient. What DNS
answered is cut before it is stored or shown: at most MAX_RECORD_CHARS per
record, MAX_RECORDS_PER_HOP per question and MAX_RECORDS_PER_CHECK in all.
Addresses a resolver (not the tenant's own name server) answered are shown
only when public.

Messages are for people: names are in their Unicode form, the checked
hostname's first mention followed by its ASCII form (`bücher.de
(xn--bcher-kva.de)`), while a record to publish keeps the ASCII name DNS
needs. The result's hostname, expectations and hops stay ASCII.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

import dns.name
import dns.rdata
import dns.rdatatype

from domains.dns.config import DnsConfig
from domains.dns.lookup import (
    Answer,
    Deadline,
    DeadlineExceeded,
    Lookup,
    LookupFailed,
    is_public_address,
    public_suffixes,
)
from domains.dns.result import CheckRequest, CheckResult, Hop, Outcome
from domains.hostnames import to_unicode, to_unicode_with_ascii

MAX_CNAME_HOPS = 8
VERIFY_LABEL = "_ve-verify"
DEFAULT_CONCURRENCY = 64
# What is kept of DNS answers (stored in DomainCheck.found and shown): a TXT
# record can hold 64 KB and an answer hundreds of records.
MAX_RECORD_CHARS = 255
MAX_RECORDS_PER_HOP = 20
MAX_RECORDS_PER_CHECK = 60
MAX_ERROR_CHARS = 500
MAX_MESSAGE_CHARS = 1500
# How many values a message quotes before "and N more".
MAX_VALUES_QUOTED = 3
NON_PUBLIC_ADDRESS = "(a non-public address)"


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _said(name: dns.name.Name) -> str:
    """A name as a message says it: the Unicode form people read."""
    return to_unicode(_text(name))


def _introduced(name: dns.name.Name) -> str:
    """The checked hostname's first mention in a message: Unicode, then its ASCII form if that differs."""
    return to_unicode_with_ascii(_text(name))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _more(count: int) -> str:
    return f"… and {count} more"


def _quoted(values: Sequence[str], *, quote: bool = False) -> str:
    """A few values for a sentence, each cut short, then how many more there are."""
    shown = [repr(_cut(v, 80)) if quote else _cut(v, 80) for v in values[:MAX_VALUES_QUOTED]]
    if len(values) > MAX_VALUES_QUOTED:
        shown.append(f"and {len(values) - MAX_VALUES_QUOTED} more")
    return ", ".join(shown)


def _hop(answer: Answer) -> Hop:
    return Hop(
        name=_text(answer.name),
        type=dns.rdatatype.to_text(answer.rdtype),
        status=answer.status,
        records=_shown_records(answer),
        server=answer.server,
        authoritative=answer.authoritative,
    )


def _shown_records(answer: Answer) -> tuple[str, ...]:
    """The records of an answer as stored and shown: each cut, at most MAX_RECORDS_PER_HOP."""
    texts = [_cut(_record_text(rdata, answer), MAX_RECORD_CHARS) for rdata in answer.rdatas]
    if len(texts) > MAX_RECORDS_PER_HOP:
        texts = [*texts[: MAX_RECORDS_PER_HOP - 1], _more(len(texts) - MAX_RECORDS_PER_HOP + 1)]
    return tuple(texts)


def _record_text(rdata: dns.rdata.Rdata, answer: Answer | None = None) -> str:
    if rdata.rdtype == dns.rdatatype.CNAME:
        return _text(rdata.target)
    if rdata.rdtype == dns.rdatatype.TXT:
        return _txt_value(rdata)
    if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and answer is not None and not answer.authoritative:
        # A resolver's answer may come from a zone only our network sees.
        if not is_public_address(rdata.address):
            return NON_PUBLIC_ADDRESS
    return rdata.to_text()


def _is_public_name(name: dns.name.Name) -> bool:
    """Whether the name is under a public suffix, i.e. can exist on the internet at all."""
    return public_suffixes().publicsuffix(_text(name), accept_unknown=False) is not None


def _bounded(hops: Sequence[Hop]) -> tuple[Hop, ...]:
    """The hops with at most MAX_RECORDS_PER_CHECK records in all (later hops give way)."""
    left = MAX_RECORDS_PER_CHECK
    bounded = []
    for hop in hops:
        if len(hop.records) > left:
            kept = hop.records[: max(left - 1, 0)]
            hop = replace(hop, records=(*kept, _more(len(hop.records) - len(kept))))
        left = max(left - len(hop.records), 0)
        bounded.append(hop)
    return tuple(bounded)


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
        error=_cut(_reasons(failure), MAX_ERROR_CHARS),
    )


def _reasons(failure: LookupFailed) -> str:
    reasons = "; ".join(failure.attempts) or "no name server found"
    if isinstance(failure, DeadlineExceeded):
        reasons = f"{reasons}; out of time" if failure.attempts else "out of time"
    return reasons


@dataclass
class _Run:
    """One check under way: the questions asked so far and the time it has left."""

    hops: list[Hop]
    deadline: Deadline


class _Transient(Exception):
    def __init__(self, failure: LookupFailed, hops: Sequence[Hop]) -> None:
        self.failure = failure
        self.hops = (*hops, _failed_hop(failure))


class DomainChecker:
    """Checks hostnames against DNS. Thread-safe; keep one per process for its caches.

    check(request) never raises for DNS trouble: that is a `transient` outcome,
    and it returns within config.deadline (plus the time to build the result).
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
        run = _Run(hops=[], deadline=Deadline(self.config.deadline))
        hops = run.hops
        try:
            if request.is_apex:
                outcome, message = self._check_apex(request, host, verify_name, run)
            else:
                outcome, message = self._check_subdomain(request, host, target, verify_name, run)
        except _Transient as transient:
            hops = list(transient.hops)
            outcome = Outcome.TRANSIENT
            message = self._transient_message(host, transient.failure)
        return CheckResult(
            hostname=_text(host),
            outcome=outcome,
            expected=expected,
            hops=_bounded(hops),
            message=_cut(message, MAX_MESSAGE_CHARS),
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
        results: list[CheckResult | None] = [None] * len(requests)
        for ended in self.check_as_completed(requests, concurrency=concurrency):
            for index, result in ended:
                results[index] = result
        return results  # type: ignore[return-value]  # every index was filled

    def check_as_completed(
        self,
        requests: Sequence[CheckRequest],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> Iterator[list[tuple[int, CheckResult]]]:
        """Check many hostnames at once, yielding the checks that ended as they end.

        Each item is every (index in `requests`, result) that ended since the
        previous one, so a caller can record results at once, in groups when
        many end together, instead of waiting for the slowest check of the
        batch (each still ends within the deadline).
        """
        if not requests:
            return
        pool = ThreadPoolExecutor(max_workers=min(concurrency, len(requests)), thread_name_prefix="dns-check")
        try:
            futures = {pool.submit(self.check, request): index for index, request in enumerate(requests)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield sorted((futures[future], future.result()) for future in done)
        finally:
            # A caller that stops early leaves only the checks already running to finish.
            pool.shutdown(wait=True, cancel_futures=True)

    # -- rules ------------------------------------------------------------------

    def _query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, run: _Run) -> Answer:
        try:
            answer = self._lookup.query(name, rdtype, deadline=run.deadline)
        except LookupFailed as failure:
            raise _Transient(failure, run.hops) from failure
        run.hops.append(_hop(answer))
        return answer

    def _check_subdomain(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        target: dns.name.Name,
        verify_name: dns.name.Name,
        run: _Run,
    ) -> tuple[Outcome, str]:
        chain = [host]
        while True:
            current = chain[-1]
            if current == target:
                return Outcome.VERIFIED, f"{_introduced(host)} points to {_text(target)}."
            if current == self._shared_target:
                return self._check_token(request, host, verify_name, run, via_shared=True)
            if current.is_subdomain(self._shared_target):
                return Outcome.WRONG_TARGET, (
                    f"{_introduced(host)} points to {_text(current)}, which is not this domain's "
                    f"target; it must point to {_text(target)}."
                )
            if len(chain) > MAX_CNAME_HOPS:
                return Outcome.WRONG_TARGET, (
                    f"{_introduced(host)} has a chain of more than {MAX_CNAME_HOPS} CNAME records; "
                    f"point it directly to {_text(target)}."
                )
            if current != host and not _is_public_name(current):
                # Only a resolver could answer about it, from a zone the internet does not see.
                return Outcome.WRONG_TARGET, (
                    f"{_introduced(host)} points to {_cut(_said(current), 80)}, which is not a public DNS name; "
                    f"it must point to {_text(target)}."
                )
            answer = self._query(current, dns.rdatatype.CNAME, run)
            if answer.status == "answer":
                following = answer.rdatas[0].target
                if following in chain:
                    loop = " → ".join(_said(n) for n in (*chain[chain.index(following) :], following))
                    return Outcome.WRONG_TARGET, (
                        f"{_introduced(host)} has a CNAME loop ({loop}); it must point to {_text(target)}."
                    )
                chain.append(following)
                continue
            if current != host:
                return Outcome.WRONG_TARGET, self._wrong_chain_message(chain, target)
            if answer.status == "nxdomain":
                return Outcome.MISSING, (
                    f"{_introduced(host)} does not exist in DNS yet; add a CNAME record pointing to {_text(target)}."
                )
            return self._no_cname_at_host(host, target, run)

    def _no_cname_at_host(self, host: dns.name.Name, target: dns.name.Name, run: _Run) -> tuple[Outcome, str]:
        """The hostname exists without a CNAME: say what it has instead, if anything."""
        addresses = [
            _record_text(rdata, answer)
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            for answer in (self._query(host, rdtype, run),)
            for rdata in answer.rdatas
        ]
        if addresses:
            return Outcome.WRONG_TARGET, (
                f"{_introduced(host)} has address records ({_quoted(addresses)}) instead of a CNAME; "
                f"replace them with a CNAME record pointing to {_text(target)}."
            )
        return Outcome.MISSING, (f"{_introduced(host)} has no CNAME record; add one pointing to {_text(target)}.")

    def _wrong_chain_message(self, chain: list[dns.name.Name], target: dns.name.Name) -> str:
        host, first, end = chain[0], chain[1], chain[-1]
        via = "" if first == end else f", which leads to {_said(end)}"
        return f"{_introduced(host)} has a CNAME to {_said(first)}{via}; it must point to {_text(target)}."

    def _check_token(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        verify_name: dns.name.Name,
        run: _Run,
        *,
        via_shared: bool,
    ) -> tuple[Outcome, str]:
        answer = self._query(verify_name, dns.rdatatype.TXT, run)
        values = [_txt_value(rdata).strip() for rdata in answer.rdatas]
        token = request.token.strip().lower()
        if token and any(value.lower() == token for value in values):
            reason = f"points to {self.config.cname_zone} and " if via_shared else ""
            return (
                Outcome.VERIFIED,
                f"{_introduced(host)} {reason}has the verification TXT record.",
            )
        has = f"has TXT {_quoted(values, quote=True)} but not" if values else "has no TXT record with"
        if via_shared:
            return Outcome.TOKEN_MISSING, (
                f"{_introduced(host)} points to the shared {self.config.cname_zone}, and {_said(verify_name)} "
                f"{has} the token {request.token}; add that TXT record, or point the CNAME to "
                f"{request.token}.{self.config.cname_zone} instead."
            )
        return Outcome.TOKEN_MISSING, (
            f"{_said(verify_name)} {has} the token {request.token}; add a TXT record "
            f"{_text(verify_name)} with the value {request.token}."
        )

    def _check_apex(
        self,
        request: CheckRequest,
        host: dns.name.Name,
        verify_name: dns.name.Name,
        run: _Run,
    ) -> tuple[Outcome, str]:
        token_outcome, token_message = self._check_token(request, host, verify_name, run, via_shared=False)
        if not self._edge_addresses:
            return token_outcome, token_message

        answers = [self._query(host, rdtype, run) for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]
        found = [(ipaddress.ip_address(r.address), answer, r) for answer in answers for r in answer.rdatas]
        allowed = ", ".join(self.config.edge_apex_addresses)
        if not found:
            address_outcome = Outcome.MISSING
            address_problem = f"{_introduced(host)} has no A record; add A/AAAA records for {allowed}"
        elif foreign := [_record_text(r, answer) for a, answer, r in found if a not in self._edge_addresses]:
            address_outcome = Outcome.WRONG_TARGET
            address_problem = (
                f"{_introduced(host)} has address records ({_quoted(foreign)}) that are not VE.AI's; "
                f"they must be among {allowed}"
            )
        else:
            if token_outcome is Outcome.VERIFIED:
                return Outcome.VERIFIED, (
                    f"{_introduced(host)} has the verification TXT record and points to VE.AI's addresses."
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
        reasons = _cut(_reasons(failure), MAX_ERROR_CHARS)
        if isinstance(failure, DeadlineExceeded):
            return (
                f"The check of {_introduced(host)} did not finish within {failure.seconds:g} s: DNS was too slow "
                f"to answer about {_said(failure.name)} ({reasons}); nothing about {_said(host)} changes, "
                "and it will be checked again shortly."
            )
        return (
            f"DNS did not answer about {_said(failure.name)} ({reasons}); nothing about "
            f"{_introduced(host)} changes, and it will be checked again shortly."
        )


@functools.cache
def get_checker() -> DomainChecker:
    """The process-wide checker built from Django settings (its caches live here).

    Call get_checker.cache_clear() after changing DNS settings, e.g. in tests.
    """
    return DomainChecker(DnsConfig.from_settings())
