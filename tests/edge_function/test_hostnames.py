"""The edge's Host normalisation: the DynamoDB key the portal wrote, or None for what is not a hostname."""

import pytest

from domains.hostnames import normalize_hostname
from edge_function.hostnames import is_pass_through, normalise_host


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gallery.client.com", "gallery.client.com"),
        ("Gallery.Client.COM", "gallery.client.com"),
        ("gallery.client.com:443", "gallery.client.com"),
        ("gallery.client.com.", "gallery.client.com"),
        ("gallery.client.com.:8080", "gallery.client.com"),
        ("  gallery.client.com ", "gallery.client.com"),
        ("bücher.example.com", "xn--bcher-kva.example.com"),
        ("BÜCHER.example.com", "xn--bcher-kva.example.com"),
        ("xn--bcher-kva.example.com", "xn--bcher-kva.example.com"),
        (
            "straße.de",
            "xn--strae-oqa.de",
        ),  # IDNA 2008, as browsers and the portal send it
        ("例え。テスト", "xn--r8jz45g.xn--zckzah"),
    ],
)
def test_it_normalises_the_host_to_the_table_key(raw, expected):
    assert normalise_host(raw) == expected


@pytest.mark.parametrize("raw", ["bücher.de", "Bücher.DE", "fotos.münchen.de", "gallery.例え.jp", "straße.de"])
def test_it_keys_an_international_host_exactly_as_the_portal_stored_it(raw):
    assert normalise_host(raw) == normalize_hostname(raw, platform_zones=["ve.ai"])


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ":443",
        ".",
        "a..b",
        "-a.com",
        "a-.com",
        "a_b.com",
        "[::1]:443",
        "host:port",
        "a b.com",
        "x" * 64 + ".com",
        ("a" * 60 + ".") * 5,
    ],
)
def test_it_refuses_what_is_not_a_hostname(raw):
    assert normalise_host(raw) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("ve.ai", True),
        ("app.ve.ai", True),
        ("notve.ai", False),
        ("ve.ai.evil.com", False),
    ],
)
def test_it_passes_through_only_the_platforms_own_names(host, expected):
    assert is_pass_through(host, ("ve.ai",)) is expected
