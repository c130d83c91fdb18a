"""The DNS checker against a real DNS server on loopback (no patched resolver)."""

import json
import time

import pytest

from domains.dns import CheckRequest, DnsConfig, DomainChecker, Outcome

TOKEN = "k3x9abc"
TARGET = f"{TOKEN}.domain.ve.ai"
EDGE_ADDRESSES = ("198.51.100.10", "2001:db8::10")


@pytest.fixture
def checker(dns_server):
    return DomainChecker(
        DnsConfig(
            resolvers=((dns_server.host, dns_server.port),),
            nameserver_port=dns_server.port,
            timeout=0.5,
            allow_private_nameservers=True,  # devdns is on loopback
            cname_zone="domain.ve.ai",
            edge_apex_addresses=EDGE_ADDRESSES,
        )
    )


def check(checker, hostname, *, token=TOKEN, is_apex=False):
    return checker.check(CheckRequest(hostname=hostname, token=token, is_apex=is_apex))


# -- subdomains: the CNAME chain ------------------------------------------------


def test_a_direct_cname_to_the_unique_target_verifies(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", TARGET)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.VERIFIED
    assert result.message == f"gallery.client.com points to {TARGET}."
    [hop] = result.hops
    assert (hop.name, hop.type, hop.records) == (
        "gallery.client.com",
        "CNAME",
        (TARGET,),
    )
    assert hop.server == dns_server.address
    assert hop.authoritative


def test_a_cname_chain_across_two_zones_verifies(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "photos.host-provider.net")
    dns_server.add("photos.host-provider.net", "CNAME", TARGET)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.VERIFIED
    assert [hop.name for hop in result.hops] == [
        "gallery.client.com",
        "photos.host-provider.net",
    ]


def test_a_cname_loop_is_a_wrong_target(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "photos.host-provider.net")
    dns_server.add("photos.host-provider.net", "CNAME", "gallery.client.com")

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert "CNAME loop (gallery.client.com → photos.host-provider.net → gallery.client.com)" in result.message


def test_a_chain_longer_than_eight_hops_is_a_wrong_target(dns_server, checker):
    for i in range(9):
        dns_server.add(f"hop{i}.client.com", "CNAME", f"hop{i + 1}.client.com")
    dns_server.add("hop9.client.com", "CNAME", TARGET)

    result = check(checker, "hop0.client.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert "more than 8 CNAME records" in result.message


def test_a_cname_to_another_host_is_a_wrong_target_that_says_where_to_point(dns_server, checker):
    dns_server.add("gallery.acme.com", "CNAME", "acme.pixieset.com")
    dns_server.add("acme.pixieset.com", "A", "203.0.113.7")

    result = check(checker, "gallery.acme.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert result.message == f"gallery.acme.com has a CNAME to acme.pixieset.com; it must point to {TARGET}."


def test_an_idn_hostnames_message_reads_in_unicode_with_its_ascii_form_once(dns_server, checker):
    dns_server.add("fotos.xn--bcher-kva.de", "CNAME", "galerie.xn--mnchen-3ya.de")
    dns_server.add("galerie.xn--mnchen-3ya.de", "A", "203.0.113.7")

    result = check(checker, "fotos.xn--bcher-kva.de")

    assert result.outcome is Outcome.WRONG_TARGET
    assert result.message == (
        f"fotos.bücher.de (fotos.xn--bcher-kva.de) has a CNAME to galerie.münchen.de; it must point to {TARGET}."
    )
    # What is stored about DNS itself keeps the ASCII names DNS uses.
    assert result.hostname == "fotos.xn--bcher-kva.de"
    assert [hop.name for hop in result.hops] == ["fotos.xn--bcher-kva.de", "galerie.xn--mnchen-3ya.de"]
    assert result.expected["cname"]["name"] == "fotos.xn--bcher-kva.de"


def test_an_idn_apex_names_the_txt_record_to_publish_in_ascii(dns_server, checker):
    dns_server.add("xn--bcher-kva.de", "A", "198.51.100.10")

    result = check(checker, "xn--bcher-kva.de", is_apex=True)

    assert result.outcome is Outcome.TOKEN_MISSING
    assert result.message == (
        "_ve-verify.bücher.de has no TXT record with the token k3x9abc; "
        "add a TXT record _ve-verify.xn--bcher-kva.de with the value k3x9abc."
    )


def test_a_cname_to_another_domains_target_is_a_wrong_target(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "someoneelse.domain.ve.ai")

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert "someoneelse.domain.ve.ai, which is not this domain's target" in result.message


def test_a_hostname_that_does_not_exist_is_missing(dns_server, checker):
    dns_server.add("www.client.com", "A", "203.0.113.7")  # the zone exists, the name does not

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.MISSING
    assert result.hops[0].status == "nxdomain"
    assert result.message == (f"gallery.client.com does not exist in DNS yet; add a CNAME record pointing to {TARGET}.")


def test_a_hostname_without_any_record_of_its_own_is_missing(dns_server, checker):
    # Only a name below it exists, so gallery.client.com answers NODATA.
    dns_server.add("_ve-verify.gallery.client.com", "TXT", TOKEN)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.MISSING
    assert result.hops[0].status == "nodata"
    assert result.message == f"gallery.client.com has no CNAME record; add one pointing to {TARGET}."


def test_a_hostname_with_addresses_instead_of_a_cname_is_a_wrong_target(dns_server, checker):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert "address records (203.0.113.7) instead of a CNAME" in result.message


def test_a_record_counts_as_soon_as_it_is_published(dns_server, checker):
    dns_server.add("www.client.com", "A", "203.0.113.7")
    assert check(checker, "gallery.client.com").outcome is Outcome.MISSING

    dns_server.add("gallery.client.com", "CNAME", TARGET)

    assert check(checker, "gallery.client.com").outcome is Outcome.VERIFIED


# -- the shared target and the TXT token --------------------------------------------


def test_the_shared_target_without_the_txt_token_is_not_verified(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.TOKEN_MISSING
    assert "_ve-verify.gallery.client.com has no TXT record with the token k3x9abc" in result.message


def test_the_shared_target_with_the_txt_token_verifies(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")
    dns_server.add("_ve-verify.gallery.client.com", "TXT", "google-site-verification=abc")
    dns_server.add("_ve-verify.gallery.client.com", "TXT", TOKEN)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.VERIFIED
    assert set(result.hops[-1].records) == {"google-site-verification=abc", TOKEN}


def test_the_shared_target_with_someone_elses_token_is_not_verified(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")
    dns_server.add("_ve-verify.gallery.client.com", "TXT", "othertoken")

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.TOKEN_MISSING
    assert "has TXT 'othertoken' but not the token k3x9abc" in result.message


def test_a_token_split_across_the_strings_of_one_txt_record_counts(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")
    dns_server.add("_ve-verify.gallery.client.com", "TXT", ["k3x9", "abc"])

    assert check(checker, "gallery.client.com").outcome is Outcome.VERIFIED


# -- apex domains -------------------------------------------------------------------


def test_an_apex_with_the_txt_token_and_edge_addresses_verifies(dns_server, checker):
    dns_server.add("client.com", "A", "198.51.100.10")
    dns_server.add("client.com", "AAAA", "2001:db8:0:0::10")
    dns_server.add("_ve-verify.client.com", "TXT", TOKEN)

    result = check(checker, "client.com", is_apex=True)

    assert result.outcome is Outcome.VERIFIED
    assert result.expected["addresses"] == list(EDGE_ADDRESSES)


def test_an_apex_with_a_foreign_address_is_a_wrong_target(dns_server, checker):
    dns_server.add("client.com", "A", "198.51.100.10")
    dns_server.add("client.com", "A", "203.0.113.9")
    dns_server.add("_ve-verify.client.com", "TXT", TOKEN)

    result = check(checker, "client.com", is_apex=True)

    assert result.outcome is Outcome.WRONG_TARGET
    assert "(203.0.113.9) that are not VE.AI's" in result.message


def test_an_apex_without_the_txt_token_is_token_missing(dns_server, checker):
    dns_server.add("client.com", "A", "198.51.100.10")

    result = check(checker, "client.com", is_apex=True)

    assert result.outcome is Outcome.TOKEN_MISSING
    assert result.message == (
        "_ve-verify.client.com has no TXT record with the token k3x9abc; "
        "add a TXT record _ve-verify.client.com with the value k3x9abc."
    )


def test_an_apex_without_addresses_is_missing_and_names_every_fix(dns_server, checker):
    dns_server.add("www.client.com", "CNAME", "client.com")

    result = check(checker, "client.com", is_apex=True)

    assert result.outcome is Outcome.MISSING
    assert "client.com has no A record" in result.message
    assert "also, _ve-verify.client.com has no TXT record" in result.message


# -- answers that are not answers -------------------------------------------------------


def test_servfail_is_transient(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", TARGET)
    dns_server.fault("gallery.client.com", servfail=True)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.TRANSIENT
    assert not result.definitive
    assert "SERVFAIL" in result.hops[-1].error


def test_refused_is_transient(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", TARGET)
    dns_server.fault("gallery.client.com", refused=True)

    assert check(checker, "gallery.client.com").outcome is Outcome.TRANSIENT


def test_a_timeout_is_transient_and_bounded(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", TARGET)
    dns_server.fault("gallery.client.com", timeout=True)

    started = time.monotonic()
    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.TRANSIENT
    assert "timeout" in result.message
    assert time.monotonic() - started < 3


def test_a_truncated_udp_answer_is_verified_over_tcp(dns_server, checker):
    # Over UDP the server sends only the TC bit: verifying needs the TCP retry.
    dns_server.add("gallery.client.com", "CNAME", TARGET)
    dns_server.fault("gallery.client.com", truncate=True)

    assert check(checker, "gallery.client.com").outcome is Outcome.VERIFIED


def test_it_falls_back_to_the_resolvers_when_no_authority_answers(dns_server, checker):
    # The zone's only name server is an address where nothing listens.
    dns_server.add("client.com", "NS", "ns1.dead-provider.net")
    dns_server.add("ns1.dead-provider.net", "A", "127.0.0.254")
    dns_server.add("gallery.client.com", "CNAME", TARGET)

    result = check(checker, "gallery.client.com")

    assert result.outcome is Outcome.VERIFIED
    assert not result.hops[0].authoritative


# -- names, results, batches ------------------------------------------------------------


def test_names_compare_case_insensitively_and_ignore_trailing_dots(dns_server, checker):
    dns_server.add("GALLERY.Client.com.", "CNAME", "K3X9ABC.Domain.VE.AI.")

    result = check(checker, "Gallery.CLIENT.com.", token="K3X9ABC")

    assert result.outcome is Outcome.VERIFIED
    assert result.hostname == "gallery.client.com"


def test_the_result_is_json_serialisable_for_a_domain_check_row(dns_server, checker):
    dns_server.add("gallery.client.com", "CNAME", TARGET)

    stored = json.loads(json.dumps(check(checker, "gallery.client.com").to_dict()))

    assert stored["outcome"] == "verified"
    assert stored["expected"]["cname"] == {
        "name": "gallery.client.com",
        "type": "CNAME",
        "value": TARGET,
    }
    assert stored["found"][0]["records"] == [TARGET]
    assert stored["message"]


def test_a_batch_is_checked_concurrently_and_keeps_its_order(dns_server, checker):
    dns_server.latency(100)
    requests = []
    for i in range(40):
        token = f"t{i}"
        if i % 4 == 0:
            dns_server.add(f"www.c{i}.com", "A", "203.0.113.7")  # gallery.c{i}.com stays missing
        else:
            dns_server.add(f"gallery.c{i}.com", "CNAME", f"{token}.domain.ve.ai")
        requests.append(CheckRequest(hostname=f"gallery.c{i}.com", token=token))

    started = time.monotonic()
    results = checker.check_many(requests, concurrency=40)
    elapsed = time.monotonic() - started

    assert [r.hostname for r in results] == [r.hostname for r in requests]
    assert [r.outcome for r in results] == [Outcome.MISSING if i % 4 == 0 else Outcome.VERIFIED for i in range(40)]
    # Three answers of 100 ms each per domain: 12 s one after the other.
    assert elapsed < 2
