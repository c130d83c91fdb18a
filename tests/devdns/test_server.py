"""devdns over the network: what a DNS client sees."""

import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest


def ask(dns_server, name, rdtype, *, tcp=False, timeout=1.0):
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, dns_server.host, timeout=timeout, port=dns_server.port)


def texts(section):
    return sorted(rdata.to_text() for rrset in section for rdata in rrset)


def test_it_answers_authoritatively_for_a_record_it_holds(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")

    response = ask(dns_server, "gallery.client.com", "CNAME")

    assert response.flags & dns.flags.AA
    assert not response.flags & dns.flags.RA
    assert texts(response.answer) == ["k3x9.domain.ve.ai."]


def test_it_answers_over_tcp_as_well(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    assert texts(ask(dns_server, "gallery.client.com", "A", tcp=True).answer) == ["203.0.113.7"]


def test_a_missing_name_is_nxdomain_with_the_zones_soa(dns_server):
    dns_server.add("www.client.com", "A", "203.0.113.7")

    response = ask(dns_server, "gallery.client.com", "A")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.flags & dns.flags.AA
    assert [rrset.name.to_text() for rrset in response.authority] == ["client.com."]


def test_a_name_without_the_asked_type_is_nodata_with_the_soa(dns_server):
    dns_server.add("www.client.com", "A", "203.0.113.7")

    response = ask(dns_server, "www.client.com", "AAAA")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_a_name_with_only_names_below_it_exists(dns_server):
    dns_server.add("_ve-verify.gallery.client.com", "TXT", "token")

    assert ask(dns_server, "gallery.client.com", "A").rcode() == dns.rcode.NOERROR


def test_the_zone_is_served_by_itself_with_glue(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")

    response = ask(dns_server, "client.com", "NS")

    assert texts(response.answer) == ["ns1.client.com."]
    assert texts(response.additional) == [dns_server.host]


def test_names_outside_its_zones_do_not_exist(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")

    assert ask(dns_server, "gallery.other.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_a_domain_with_nothing_published_is_missing_not_unreachable(dns_server):
    from domains.dns import CheckRequest, DnsConfig, DomainChecker

    config = DnsConfig.from_values(
        resolvers=dns_server.address, nameserver_port=dns_server.port, timeout=0.5, cname_zone="domain.ve.ai"
    )
    result = DomainChecker(config).check(CheckRequest(hostname="gallery.unpublished.com", token="k3x9"))

    assert result.outcome == "missing"


def test_a_multi_string_txt_record_keeps_its_strings(dns_server):
    dns_server.add("_ve-verify.client.com", "TXT", ["k3x9", "abc"])

    [rrset] = ask(dns_server, "_ve-verify.client.com", "TXT").answer

    assert [rdata.strings for rdata in rrset] == [(b"k3x9", b"abc")]


def test_a_removed_record_is_gone_at_once(dns_server):
    dns_server.add("www.client.com", "A", "203.0.113.7")
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    assert dns_server.remove("gallery.client.com") == 1

    assert ask(dns_server, "gallery.client.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_a_truncate_fault_sends_only_the_tc_bit_over_udp_and_everything_over_tcp(
    dns_server,
):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", truncate=True)

    over_udp = ask(dns_server, "gallery.client.com", "A")
    over_tcp = ask(dns_server, "gallery.client.com", "A", tcp=True)

    assert over_udp.flags & dns.flags.TC and over_udp.answer == []
    assert texts(over_tcp.answer) == ["203.0.113.7"]


@pytest.mark.parametrize(
    ("fault", "rcode"),
    [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED)],
)
def test_an_rcode_fault_answers_with_that_rcode(dns_server, fault, rcode):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", **{fault: True})

    assert ask(dns_server, "gallery.client.com", "A").rcode() == rcode


def test_a_timeout_fault_never_answers(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", timeout=True)

    with pytest.raises(dns.exception.Timeout):
        ask(dns_server, "gallery.client.com", "A", timeout=0.3)


def test_latency_delays_answers_without_serialising_them(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.latency(200)
    finished = []

    def one_query():
        ask(dns_server, "gallery.client.com", "A")
        finished.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=one_query) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(finished) == 20
    assert 0.2 <= min(finished) - started and max(finished) - started < 0.8


def test_a_refer_fault_answers_with_a_referral_and_glue_instead_of_the_record(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", refer="com", refer_ns="ns1.evil.net", refer_glue="192.0.2.53")

    response = ask(dns_server, "gallery.client.com", "A")

    assert not response.flags & dns.flags.AA
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []
    [ns] = response.authority
    assert (ns.name.to_text(), texts([ns])) == ("com.", ["ns1.evil.net."])
    [glue] = response.additional
    assert (glue.name.to_text(), texts([glue])) == ("ns1.evil.net.", ["192.0.2.53"])


def test_a_referral_to_the_names_own_zone_sends_the_client_back_to_this_server(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", refer="client.com")

    response = ask(dns_server, "gallery.client.com", "A")

    assert texts(response.authority) == ["ns1.client.com."]
    assert texts(response.additional) == [dns_server.host]


def test_the_hostile_server_shares_the_port_and_keeps_its_own_records(dns_server, hostile_dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    hostile_dns_server.add("gallery.client.com", "A", "198.51.100.66")

    assert hostile_dns_server.port == dns_server.port and hostile_dns_server.host != dns_server.host
    assert texts(ask(dns_server, "gallery.client.com", "A").answer) == ["203.0.113.7"]
    assert texts(ask(hostile_dns_server, "gallery.client.com", "A").answer) == ["198.51.100.66"]


def test_a_hangup_fault_truncates_over_udp_and_closes_tcp_without_an_answer(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.fault("gallery.client.com", hangup=True)

    assert ask(dns_server, "gallery.client.com", "A").flags & dns.flags.TC
    with pytest.raises(EOFError):
        ask(dns_server, "gallery.client.com", "A", tcp=True)


def test_an_answer_too_big_even_for_tcp_is_a_servfail(dns_server):
    for i in range(80):
        dns_server.add("big.client.com", "TXT", [f"{i:02d}" + "x" * 250] * 4)

    assert ask(dns_server, "big.client.com", "TXT", tcp=True).rcode() == dns.rcode.SERVFAIL


def test_over_tcp_an_answer_is_not_limited_to_the_udp_size_of_the_query(dns_server):
    for i in range(20):
        dns_server.add("big.client.com", "TXT", [f"{i:02d}" + "x" * 250] * 4)
    query = dns.message.make_query("big.client.com", "TXT", use_edns=0, payload=1232)

    response = dns.query.tcp(query, dns_server.host, timeout=1.0, port=dns_server.port)

    assert sum(len(rrset) for rrset in response.answer) == 20


def test_a_wildcard_answers_for_every_name_below_it_that_does_not_exist(dns_server):
    dns_server.add("*.domain.ve.ai", "A", "127.0.0.1")
    dns_server.add("taken.domain.ve.ai", "TXT", "something else")

    response = ask(dns_server, "k3x9.domain.ve.ai", "A")

    assert response.flags & dns.flags.AA
    assert [(rrset.name.to_text(), rdata.to_text()) for rrset in response.answer for rdata in rrset] == [
        ("k3x9.domain.ve.ai.", "127.0.0.1")
    ]
    assert ask(dns_server, "deeper.k3x9.domain.ve.ai", "A").answer[0].name.to_text() == "deeper.k3x9.domain.ve.ai."
    assert ask(dns_server, "k3x9.domain.ve.ai", "AAAA").rcode() == dns.rcode.NOERROR  # NODATA
    # A name that exists is answered from its own records, never the wildcard's.
    assert ask(dns_server, "taken.domain.ve.ai", "A").answer == []
    assert ask(dns_server, "domain.ve.ai", "A").answer == []


def test_a_cname_answer_carries_what_it_leads_to_in_its_own_data(dns_server):
    dns_server.add("*.domain.ve.ai", "A", "127.0.0.1")
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")
    dns_server.add("www.client.com", "CNAME", "elsewhere.example.net")

    chased = ask(dns_server, "gallery.client.com", "A")
    asked_for_cname = ask(dns_server, "gallery.client.com", "CNAME")

    assert [(rrset.name.to_text(), rdata.to_text()) for rrset in chased.answer for rdata in rrset] == [
        ("gallery.client.com.", "k3x9.domain.ve.ai."),
        ("k3x9.domain.ve.ai.", "127.0.0.1"),
    ]
    assert texts(asked_for_cname.answer) == ["k3x9.domain.ve.ai."]
    # A target outside devdns's zones is left to the client.
    assert texts(ask(dns_server, "www.client.com", "A").answer) == ["elsewhere.example.net."]


def test_a_stub_resolver_gets_an_address_through_the_cname_and_the_wildcard(dns_server):
    import dns.resolver

    dns_server.add("*.domain.ve.ai", "A", "127.0.0.1")
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns_server.host]
    resolver.port = dns_server.port

    answer = resolver.resolve("gallery.client.com", "A")

    assert [rdata.address for rdata in answer] == ["127.0.0.1"]
    assert answer.canonical_name.to_text() == "k3x9.domain.ve.ai."
