"""normalize_hostname: what a tenant pastes becomes one normal form, or a message they can act on."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.hostnames import (
    InvalidHostname,
    is_apex,
    normalize_hostname,
    registrable_domain,
    to_unicode,
    to_unicode_with_ascii,
)
from edge_function.hostnames import normalise_host

PLATFORM = ["ve.ai", "domain.ve.ai"]

ACCEPTED = [
    ("gallery.client-domain.com", "gallery.client-domain.com"),
    ("Gallery.Example.com", "gallery.example.com"),
    ("GALLERY.CLIENT-DOMAIN.COM", "gallery.client-domain.com"),
    ("gallery.client-domain.com.", "gallery.client-domain.com"),
    ("  gallery.client-domain.com  ", "gallery.client-domain.com"),
    ("https://Gallery.Example.com/path", "gallery.example.com"),
    ("http://gallery.example.com", "gallery.example.com"),
    ("https://gallery.example.com/?q=1#top", "gallery.example.com"),
    ("gallery.example.com/some/page", "gallery.example.com"),
    ("gallery.example.com?x=1", "gallery.example.com"),
    ("example.com", "example.com"),
    ("client.co.uk", "client.co.uk"),
    ("photos.client.co.uk", "photos.client.co.uk"),
    ("my-gallery.example.org", "my-gallery.example.org"),
    ("a.b.c.d.example.net", "a.b.c.d.example.net"),
    ("1gallery.example.com", "1gallery.example.com"),
    ("123.example.com", "123.example.com"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("Bücher.de", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("fotos.münchen.de", "fotos.xn--mnchen-3ya.de"),
    ("ＧＡＬＬＥＲＹ．example．com", "gallery.example.com"),
    ("gallery.例え.jp", "gallery.xn--r8jz45g.jp"),
    ("alice.github.io", "alice.github.io"),
    ("shop.example.com.au", "shop.example.com.au"),
    ("ab--cd.example.com", "ab--cd.example.com"),
    ("x.example.photography", "x.example.photography"),
    ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
    ("gallery.ve.ai.example.com", "gallery.ve.ai.example.com"),
    ("studio.example.xn--p1ai", "studio.example.xn--p1ai"),
]

REJECTED = [
    ("", "Enter a hostname"),
    ("   ", "Enter a hostname"),
    ("https://", "Enter a hostname"),
    ("gallery.example.com:8080", "Remove the port"),
    ("https://gallery.example.com:443/", "Remove the port"),
    ("user@gallery.example.com", "Remove the user name"),
    ("https://user:pw@gallery.example.com/", "Remove the user name"),
    ("192.0.2.10", "IP addresses"),
    ("https://192.0.2.10/", "IP addresses"),
    ("2001:db8::1", "IP addresses"),
    ("[2001:db8::1]", "IP addresses"),
    ("http://[2001:db8::1]:8080/", "IP addresses"),
    ("1.2.3", "IP addresses"),
    ("gallery", "full domain"),
    ("com", "full domain"),
    ("a" * 64 + ".example.com", "at most 63"),
    (".".join(["a" * 60] * 5) + ".com", "at most 253"),
    ("gal_lery.example.com", "Underscores"),
    ("_dmarc.example.com", "Underscores"),
    ("gal lery.example.com", "a space"),
    ("gallery!.example.com", "“!”"),
    ("gallery.exa$mple.com", "“$”"),
    ("-gallery.example.com", "hyphen"),
    ("gallery-.example.com", "hyphen"),
    ("gallery..example.com", "empty part"),
    (".gallery.example.com", "empty part"),
    ("gallery.example.com..", "empty part"),
    ("*.example.com", "Wildcard"),
    ("co.uk", "public suffix"),
    ("github.io", "public suffix"),
    ("com.au", "public suffix"),
    ("gallery.example.con", "not a top-level domain"),
    ("localhost", "reserved"),
    ("app.localhost", "reserved"),
    ("printer.local", "reserved"),
    ("gallery.test", "reserved"),
    ("site.example", "reserved"),
    ("x.invalid", "reserved"),
    ("db.corp.internal", "reserved"),
    ("ve.ai", "belongs to VE.AI"),
    ("alice.ve.ai", "belongs to VE.AI"),
    ("Gallery.VE.AI.", "belongs to VE.AI"),
    ("domain.ve.ai", "belongs to VE.AI"),
    ("k3x9.domain.ve.ai", "belongs to VE.AI"),
    ("xn--zz.example.com", "not a valid internationalised label"),
    ("gallery.example.com\x00", "“\x00”"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_it_accepts_and_normalises(raw, expected):
    assert normalize_hostname(raw, platform_zones=PLATFORM) == expected


@pytest.mark.parametrize(("raw", "message"), REJECTED)
def test_it_rejects_with_a_message_the_tenant_can_act_on(raw, message):
    with pytest.raises(InvalidHostname) as excinfo:
        normalize_hostname(raw, platform_zones=PLATFORM)
    assert message in str(excinfo.value)


@pytest.mark.parametrize("normal", sorted({expected for _, expected in ACCEPTED}))
def test_it_accepts_its_own_normal_form_unchanged(normal):
    assert normalize_hostname(normal, platform_zones=PLATFORM) == normal


@pytest.mark.parametrize("normal", sorted({expected for _, expected in ACCEPTED}))
def test_the_edge_looks_an_accepted_hostname_up_under_the_key_the_portal_stores(normal):
    # Browsers send Host in ASCII, in any case, sometimes with the port or a trailing dot.
    for host in (normal, normal.upper(), f"{normal}:443", f"{normal}."):
        assert normalise_host(host) == normal, host


def test_platform_zones_default_to_the_settings(settings):
    settings.PLATFORM_ZONES = ["photos.example"]
    settings.CNAME_ZONE = "edge.example.org"
    with pytest.raises(InvalidHostname, match="belongs to VE.AI"):
        normalize_hostname("abc.edge.example.org")
    assert normalize_hostname("gallery.ve.ai") == "gallery.ve.ai"


@pytest.mark.parametrize(
    ("hostname", "apex", "registrable"),
    [
        ("client-domain.com", True, "client-domain.com"),
        ("gallery.client-domain.com", False, "client-domain.com"),
        ("client.co.uk", True, "client.co.uk"),
        ("a.b.client.co.uk", False, "client.co.uk"),
        ("alice.github.io", True, "alice.github.io"),
    ],
)
def test_it_tells_an_apex_from_a_subdomain(hostname, apex, registrable):
    assert is_apex(hostname) is apex
    assert registrable_domain(hostname) == registrable


def test_the_display_form_is_unicode():
    assert to_unicode("xn--bcher-kva.de") == "bücher.de"


def test_a_record_name_idna_refuses_as_a_whole_still_shows_its_labels_in_unicode():
    assert to_unicode("_ve-verify.xn--bcher-kva.de") == "_ve-verify.bücher.de"
    assert to_unicode("xn--zz-bad.de") == "xn--zz-bad.de"  # not real punycode: shown as it is


def test_the_ascii_form_follows_the_unicode_one_only_when_they_differ():
    assert to_unicode_with_ascii("fotos.xn--bcher-kva.de") == "fotos.bücher.de (fotos.xn--bcher-kva.de)"
    assert to_unicode_with_ascii("gallery.client.com") == "gallery.client.com"


hostname_like = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\A(https?://)?[A-Za-z0-9\-_.*äöü例]{0,40}(:\d{1,5})?(/[a-z]*)?\Z"),
    st.lists(st.from_regex(r"\A[a-z0-9\-]{1,10}\Z"), min_size=1, max_size=5).map(".".join).map(lambda s: s + ".com"),
)


@settings(max_examples=500, deadline=None)
@given(hostname_like)
def test_any_text_gives_a_valid_hostname_or_invalid_hostname_and_normalising_is_idempotent(raw):
    try:
        normal = normalize_hostname(raw, platform_zones=PLATFORM)
    except InvalidHostname:
        return
    assert normal == normal.lower() and normal.isascii()
    assert len(normal) <= 253 and all(1 <= len(label) <= 63 for label in normal.split("."))
    assert normalize_hostname(normal, platform_zones=PLATFORM) == normal
