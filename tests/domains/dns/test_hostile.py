"""The checker against a tenant's hostile name servers: a second devdns on 127.0.0.2.

`dns_server` (127.0.0.1) plays the rest of the internet and is the resolver;
it delegates the tenant's zone to `hostile_dns_server`, which never answers,
truncates, refers back to itself, claims zones it has no say over, or answers
far too much. None of it may stall a check past its deadline, reach into the
shared caches, make the checker talk to a private address, or end up whole in
what is stored and shown.
"""

import time

import pytest

from domains.dns import CheckRequest, DnsConfig, DomainChecker, Outcome
from domains.dns.lookup import is_public_address
from tests.fixtures.dns import HOSTILE_HOST

TOKEN = "k3x9abc"
TARGET = f"{TOKEN}.domain.ve.ai"
TENANT_ZONE = "evil-tenant.com"


def make_checker(dns_server, *, timeout=0.5, deadline=10.0, allow_private=True):
    return DomainChecker(
        DnsConfig(
            resolvers=((dns_server.host, dns_server.port),),
            nameserver_port=dns_server.port,
            timeout=timeout,
            deadline=deadline,
            allow_private_nameservers=allow_private,
            cname_zone="domain.ve.ai",
        )
    )


def check(checker, hostname, *, token=TOKEN):
    return checker.check(CheckRequest(hostname=hostname, token=token))


def delegate_to_hostile(dns_server, zone=TENANT_ZONE, *, servers=1):
    """The internet says `zone` is served by the hostile server (NS with glue)."""
    for i in range(1, servers + 1):
        dns_server.add(zone, "NS", f"ns{i}.{zone}")
        dns_server.add(f"ns{i}.{zone}", "A", HOSTILE_HOST)


# -- an overall deadline ----------------------------------------------------------


def test_hostile_servers_cannot_stall_a_check_past_its_deadline(dns_server, hostile_dns_server):
    # Three name servers (all the hostile one) that answer every hop slowly,
    # truncated over UDP, and with a referral back to themselves; the resolver
    # answers just under the per-query timeout, so each hop would eventually
    # succeed. Without a deadline this chain of eight hops takes about 23 s.
    delegate_to_hostile(dns_server, servers=3)
    hops = [f"h{i}.{TENANT_ZONE}" for i in range(8)]
    for here, there in zip(hops, [*hops[1:], TARGET], strict=True):
        dns_server.add(here, "CNAME", there)
        dns_server.fault(here, latency_ms=400)
        hostile_dns_server.fault(here, latency_ms=300, truncate=True, refer=TENANT_ZONE)
    checker = make_checker(dns_server, timeout=0.5, deadline=2.0)

    started = time.monotonic()
    result = check(checker, hops[0])
    elapsed = time.monotonic() - started

    assert result.outcome is Outcome.TRANSIENT
    assert elapsed < 2.0 + 0.5
    assert "did not finish within 2 s" in result.message
    assert result.hops[-1].status == "error"


def test_a_server_that_never_answers_costs_at_most_the_deadline(dns_server, hostile_dns_server):
    delegate_to_hostile(dns_server, servers=3)
    dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)
    dns_server.fault(f"gallery.{TENANT_ZONE}", timeout=True)
    hostile_dns_server.fault(f"gallery.{TENANT_ZONE}", timeout=True)
    checker = make_checker(dns_server, timeout=0.6, deadline=1.0)

    started = time.monotonic()
    result = check(checker, f"gallery.{TENANT_ZONE}")

    assert result.outcome is Outcome.TRANSIENT
    # Three servers and the resolver at 0.6 s each would be 2.4 s.
    assert time.monotonic() - started < 1.0 + 0.3


def test_a_server_that_hangs_up_over_tcp_is_transient_not_a_crash(dns_server, hostile_dns_server):
    # Truncated over UDP, then the TCP connection closes without an answer.
    delegate_to_hostile(dns_server)
    dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)
    dns_server.fault(f"gallery.{TENANT_ZONE}", hangup=True)
    hostile_dns_server.fault(f"gallery.{TENANT_ZONE}", hangup=True)

    result = check(make_checker(dns_server), f"gallery.{TENANT_ZONE}")

    assert result.outcome is Outcome.TRANSIENT
    assert "connection closed without an answer" in result.message


def test_a_slow_but_honest_zone_still_verifies_within_the_deadline(dns_server, hostile_dns_server):
    delegate_to_hostile(dns_server)
    hostile_dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)
    hostile_dns_server.latency(150)

    assert check(make_checker(dns_server, deadline=2.0), f"gallery.{TENANT_ZONE}").outcome is Outcome.VERIFIED


# -- referrals must make progress (bailiwick) --------------------------------------


def test_a_tenants_server_cannot_plant_a_com_referral_that_verifies_a_name_nobody_registered(
    dns_server, hostile_dns_server
):
    # The tenant's server answers questions about its own zone with "com. is
    # served by me", and holds a record for a .com name nobody registered.
    delegate_to_hostile(dns_server)
    hostile_dns_server.fault(f"www.{TENANT_ZONE}", refer="com")
    hostile_dns_server.add("gallery.unregistered-brand.com", "CNAME", TARGET)
    checker = make_checker(dns_server)  # one checker: its zone cache is shared by every check
    assert check(checker, "gallery.unregistered-brand.com").outcome is Outcome.MISSING

    check(checker, f"www.{TENANT_ZONE}")  # the tenant's own domain, checked in the same process
    result = check(checker, "gallery.unregistered-brand.com")

    assert result.outcome is Outcome.MISSING
    assert all(hop.server != f"{HOSTILE_HOST}:{dns_server.port}" for hop in result.hops)


def test_a_referral_back_to_the_same_zone_is_not_followed(dns_server, hostile_dns_server):
    delegate_to_hostile(dns_server)
    dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)  # what a resolver would still find
    hostile_dns_server.fault(f"gallery.{TENANT_ZONE}", refer=TENANT_ZONE, latency_ms=200)

    started = time.monotonic()
    result = check(make_checker(dns_server), f"gallery.{TENANT_ZONE}")

    # One question to the tenant's server, then the resolver: no loop of referrals.
    assert result.outcome is Outcome.VERIFIED and not result.hops[0].authoritative
    assert time.monotonic() - started < 0.4


def test_a_referral_to_a_zone_below_is_followed(dns_server, hostile_dns_server):
    # sub.evil-tenant.net is delegated (in-zone glue) to a server that holds the record.
    delegate_to_hostile(dns_server)
    hostile_dns_server.fault(
        f"gallery.sub.{TENANT_ZONE}",
        refer=f"sub.{TENANT_ZONE}",
        refer_ns=f"ns.sub.{TENANT_ZONE}",
        refer_glue="127.0.0.1",
    )
    dns_server.add(f"gallery.sub.{TENANT_ZONE}", "CNAME", TARGET)

    result = check(make_checker(dns_server), f"gallery.sub.{TENANT_ZONE}")

    assert result.outcome is Outcome.VERIFIED
    assert result.hops[0].authoritative and result.hops[0].server == dns_server.address


def test_glue_outside_the_referred_zone_is_ignored(dns_server, hostile_dns_server):
    # The referral names ns.provider.org for the sub-zone and offers its own
    # address as glue; the internet says ns.provider.org is 127.0.0.1.
    delegate_to_hostile(dns_server)
    dns_server.add("ns.provider.org", "A", "127.0.0.1")
    dns_server.add(f"gallery.sub.{TENANT_ZONE}", "CNAME", TARGET)
    hostile_dns_server.fault(
        f"gallery.sub.{TENANT_ZONE}", refer=f"sub.{TENANT_ZONE}", refer_ns="ns.provider.org", refer_glue=HOSTILE_HOST
    )

    result = check(make_checker(dns_server), f"gallery.sub.{TENANT_ZONE}")

    assert result.outcome is Outcome.VERIFIED
    assert result.hops[0].authoritative and result.hops[0].server == dns_server.address


# -- private addresses learned from DNS ------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.2",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.1.2.3",
        "224.0.0.251",
        "255.255.255.255",
        "fc00::1",
        "fd00:ec2::254",  # the metadata service over IPv6
        "::1",
        "fe80::1",
        "ff02::1",
        "::",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_internet_addresses_are_public(address):
    assert is_public_address(address)


def test_a_name_server_at_a_private_address_is_never_asked(dns_server, hostile_dns_server):
    # The tenant's NS glue points into our network; the server there would verify.
    delegate_to_hostile(dns_server)
    hostile_dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)

    result = check(make_checker(dns_server, allow_private=False), f"gallery.{TENANT_ZONE}")

    assert result.outcome is Outcome.MISSING  # only the resolver was asked, and it has no such record
    assert not any(hop.authoritative for hop in result.hops)


def test_the_setting_allows_private_name_servers_for_the_local_stack(dns_server, hostile_dns_server):
    delegate_to_hostile(dns_server)
    hostile_dns_server.add(f"gallery.{TENANT_ZONE}", "CNAME", TARGET)

    result = check(make_checker(dns_server, allow_private=True), f"gallery.{TENANT_ZONE}")

    assert result.outcome is Outcome.VERIFIED and result.hops[0].authoritative


def test_what_the_resolver_says_and_where_it_is_never_reach_the_tenant(dns_server):
    dns_server.add("www.client.com", "A", "192.0.2.1")
    dns_server.add("gallery.client.com", "CNAME", "app.client.com")
    dns_server.add("app.client.com", "A", "10.20.30.40")  # an internal address behind the resolver
    checker = make_checker(dns_server, allow_private=False)  # so the resolver answers everything

    result = check(checker, "gallery.client.com")
    dns_server.fault("other.client.com", servfail=True)
    failed = check(checker, "other.client.com")

    stored = f"{result.to_dict()} {failed.to_dict()}"
    assert "10.20.30.40" not in stored
    assert dns_server.address not in stored and dns_server.host not in stored
    assert failed.outcome is Outcome.TRANSIENT and "resolver: SERVFAIL" in failed.message


def test_a_chain_into_a_name_that_is_not_on_the_internet_is_never_asked(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "api.corp.internal")

    result = check(make_checker(dns_server), "gallery.client.com")

    assert result.outcome is Outcome.WRONG_TARGET
    assert [hop.name for hop in result.hops] == ["gallery.client.com"]
    assert "api.corp.internal, which is not a public DNS name" in result.message


# -- huge answers are cut -------------------------------------------------------------------


def test_a_huge_txt_answer_is_cut_in_what_is_stored_but_the_token_still_counts(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")
    for i in range(40):  # 40 KB: over TCP only
        dns_server.add("_ve-verify.gallery.client.com", "TXT", [f"{i:02d}" + "x" * 250] * 4)
    dns_server.add("_ve-verify.gallery.client.com", "TXT", TOKEN)

    result = check(make_checker(dns_server), "gallery.client.com")

    assert result.outcome is Outcome.VERIFIED  # over TCP, all 41 records were read
    txt = result.hops[-1]
    assert len(txt.records) <= 20 and all(len(record) <= 300 for record in txt.records)
    assert txt.records[-1].startswith("… and ") and txt.records[-1].endswith(" more")


def test_a_huge_answer_is_cut_in_the_message_too(dns_server):
    dns_server.add("gallery.client.com", "CNAME", "domain.ve.ai")
    for i in range(40):
        dns_server.add("_ve-verify.gallery.client.com", "TXT", [f"{i:02d}" + "y" * 250] * 4)

    result = check(make_checker(dns_server), "gallery.client.com")

    assert result.outcome is Outcome.TOKEN_MISSING
    assert len(result.message) <= 2000
    assert sum(len(r) for hop in result.hops for r in hop.records) <= 20 * 300
