"""What devdns answers: authoritative responses built from a `State`.

Zones are implied by the records: each record belongs to the zone of its
registrable domain (gallery.client.com -> client.com, per the public suffix
list), and a name holding NS records is a zone apex of its own. A zone without
NS records is served by `ns1.<zone>`, whose address is the server's own, so a
resolver that follows the delegation comes straight back here.

devdns plays the whole internet for the local stack, so a name outside every
zone does not exist: NXDOMAIN, as a resolver would answer for a domain nobody
registered (REFUSED would read as "your DNS is unreachable" to a tenant who
simply has not published anything yet). Names inside a zone get NXDOMAIN or
NODATA (with the SOA) exactly as RFC 1034/2308/8020 describe, including empty
non-terminals.

A record named `*.<name>` is a wildcard (RFC 4592): it answers for every name
below `<name>` that does not exist itself (the local stack publishes
`*.domain.ve.ai A 127.0.0.1`, so every domain's unique target reaches the local
edge). A CNAME answer to any other type also carries the records it leads to
inside devdns's zones (RFC 1034 4.3.2), as an authoritative server does for its
own data, so a stub resolver (pebble's, or a browser's) gets an address.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from publicsuffixlist import PublicSuffixList

from devdns.store import Fault, State

SOA_TTL = 60
# How many CNAMEs an answer follows inside devdns's own data.
MAX_CHASED_CNAMES = 8
WILDCARD = dns.name.Name((b"*",))
# Negative answers are cached by resolvers for the SOA minimum; keep it short so
# a record added during a test or a demo is seen at once even through a resolver.
NEGATIVE_TTL = 5


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def registrable_domain(name: str) -> str:
    """client.com for gallery.client.com; a bare public suffix stands for itself."""
    if name.startswith("*."):
        name = name[2:]
    return _public_suffixes().privatesuffix(name) or name


class Authority:
    """An immutable snapshot of the zones in one `State`, able to answer queries."""

    def __init__(self, state: State, own_address: str) -> None:
        self._own_address = own_address
        self._faults = {dns.name.from_text(n): f for n, f in state.faults.items()}
        self.latency_ms = state.latency_ms

        rrsets: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rrset.RRset] = {}
        apexes: set[dns.name.Name] = set()
        for record in state.records:
            owner = dns.name.from_text(record.name)
            rdtype = dns.rdatatype.from_text(record.type)
            rrset = rrsets.get((owner, rdtype))
            if rrset is None:
                rrset = rrsets[(owner, rdtype)] = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
            rrset.add(
                dns.rdata.from_text(
                    dns.rdataclass.IN,
                    rdtype,
                    record.value,
                    origin=dns.name.root,
                    relativize=False,
                ),
                ttl=record.ttl,
            )
            apexes.add(dns.name.from_text(registrable_domain(record.name)))
            if rdtype == dns.rdatatype.NS:
                apexes.add(owner)

        for apex in apexes:
            if (apex, dns.rdatatype.NS) not in rrsets:
                ns_host = dns.name.Name(("ns1", *apex.labels))
                ns = dns.rrset.from_text(apex, SOA_TTL, "IN", "NS", ns_host.to_text())
                rrsets[(apex, dns.rdatatype.NS)] = ns
                rrsets.setdefault(
                    (ns_host, dns.rdatatype.A),
                    dns.rrset.from_text(ns_host, SOA_TTL, "IN", "A", own_address),
                )
            rrsets[(apex, dns.rdatatype.SOA)] = dns.rrset.from_text(
                apex,
                SOA_TTL,
                "IN",
                "SOA",
                f"ns1.{apex} hostmaster.{apex} 1 3600 600 86400 {NEGATIVE_TTL}",
            )

        # Every owner and every ancestor up to its zone apex exists (empty
        # non-terminals answer NODATA, not NXDOMAIN).
        existing: set[dns.name.Name] = set()
        by_name: dict[dns.name.Name, list[dns.rrset.RRset]] = defaultdict(list)
        for (owner, _), rrset in rrsets.items():
            by_name[owner].append(rrset)
            name = owner
            while name not in existing and name != dns.name.root:
                existing.add(name)
                if name in apexes:
                    break
                name = name.parent()

        self._rrsets = rrsets
        self._by_name = by_name
        self._apexes = apexes
        self._existing = existing

    def fault_for(self, qname: dns.name.Name) -> Fault:
        return self._faults.get(qname, Fault())

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        """The authoritative answer to a query, faults with an rcode applied."""
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA  # this server never recurses
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname, qtype = question.name, question.rdtype

        fault = self.fault_for(qname)
        zone = self._zone_of(qname)
        if fault.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if fault.refused or question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if fault.refer:
            self._refer(response, fault)
            return response
        if zone is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response

        response.flags |= dns.flags.AA
        answer = self._answer_rrsets(qname, qtype)
        if answer:
            response.answer.extend(answer)
            self._add_glue(response, answer)
        elif qname in self._existing or self._wildcard_for(qname) is not None:
            response.authority.append(self._soa(zone))  # NODATA
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa(zone))
        return response

    def _refer(self, response: dns.message.Message, fault: Fault) -> None:
        """A referral (not authoritative): `fault.refer` is served by its NS, with glue.

        Served whatever zone the name is in, so a test can make a server claim
        a zone it has no say over, or send the client back to itself.
        """
        zone = dns.name.from_text(fault.refer)
        ns_host = dns.name.from_text(fault.refer_ns) if fault.refer_ns else dns.name.Name(("ns1", *zone.labels))
        glue = fault.refer_glue or self._own_address
        glue_type = "AAAA" if ":" in glue else "A"
        response.authority.append(dns.rrset.from_text(zone, SOA_TTL, "IN", "NS", ns_host.to_text()))
        response.additional.append(dns.rrset.from_text(ns_host, SOA_TTL, "IN", glue_type, glue))

    def _answer_rrsets(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> list[dns.rrset.RRset]:
        """The records of the name (or of the wildcard covering it), and where its CNAME leads in our data."""
        answer = self._rrsets_at(qname, qtype)
        if qtype in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
            return answer
        seen = {qname}
        while answer and answer[-1].rdtype == dns.rdatatype.CNAME and len(seen) <= MAX_CHASED_CNAMES:
            target = answer[-1][0].target
            if target in seen or self._zone_of(target) is None:
                break
            seen.add(target)
            following = self._rrsets_at(target, qtype)
            if not following:
                break
            answer.extend(following)
        return answer

    def _rrsets_at(self, name: dns.name.Name, qtype: dns.rdatatype.RdataType) -> list[dns.rrset.RRset]:
        owner = name if name in self._existing else self._wildcard_for(name)
        if owner is None:
            return []
        if qtype == dns.rdatatype.ANY:
            found = list(self._by_name.get(owner, ()))
        else:
            # A CNAME answers every type at its name; the client follows it.
            exact = self._rrsets.get((owner, qtype)) or self._rrsets.get((owner, dns.rdatatype.CNAME))
            found = [exact] if exact is not None else []
        if owner == name:
            return found
        synthesized = []
        for rrset in found:  # a wildcard's records, owned by the name asked about
            copy = dns.rrset.RRset(name, rrset.rdclass, rrset.rdtype)
            copy.update(rrset)
            synthesized.append(copy)
        return synthesized

    def _wildcard_for(self, name: dns.name.Name) -> dns.name.Name | None:
        """`*.<closest encloser>` when it holds records and `name` does not exist (RFC 4592)."""
        if name in self._existing or self._zone_of(name) is None:
            return None
        encloser = name.parent()
        while encloser not in self._existing and encloser != dns.name.root:
            encloser = encloser.parent()
        source = WILDCARD.concatenate(encloser)
        return source if source in self._by_name else None

    def _add_glue(self, response: dns.message.Message, answer: Iterable[dns.rrset.RRset]) -> None:
        for rrset in answer:
            if rrset.rdtype != dns.rdatatype.NS:
                continue
            for ns in rrset:
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    glue = self._rrsets.get((ns.target, rdtype))
                    if glue is not None:
                        response.additional.append(glue)

    def _zone_of(self, qname: dns.name.Name) -> dns.name.Name | None:
        name = qname
        while True:
            if name in self._apexes:
                return name
            if name == dns.name.root:
                return None
            name = name.parent()

    def _soa(self, zone: dns.name.Name) -> dns.rrset.RRset:
        soa = self._rrsets[(zone, dns.rdatatype.SOA)]
        negative = dns.rrset.RRset(zone, dns.rdataclass.IN, dns.rdatatype.SOA)
        negative.update(soa)
        negative.ttl = NEGATIVE_TTL
        return negative
