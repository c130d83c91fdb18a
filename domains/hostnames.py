"""Normalise and validate the hostname a tenant types (pure: no I/O).

`normalize_hostname` turns what a person pastes (a URL, mixed case, Unicode,
a trailing dot) into the one ASCII form the rest of the system keys on, or
raises `InvalidHostname` with a sentence the tenant can act on.
"""

import ipaddress
import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

MAX_HOSTNAME_OCTETS = 253
MAX_LABEL_OCTETS = 63

# Names that never resolve publicly (RFC 2606, RFC 6761, RFC 6762, ICANN's
# .internal): a tenant can't prove ownership of them.
RESERVED_NAMES = ("localhost",)
RESERVED_SUFFIXES = ("localhost", "local", "test", "example", "invalid", "internal", "arpa")

_LDH_LABEL = re.compile(r"^[a-z0-9-]+$")


class InvalidHostname(ValueError):
    """The input is not a hostname a tenant can connect; the message says why."""


@cache
def _public_suffix_list() -> PublicSuffixList:
    # The list ships inside the package: no download at run time. Unknown TLDs
    # are not accepted so that a typo such as `.con` is caught.
    return PublicSuffixList(accept_unknown=False)


def _default_platform_zones() -> list[str]:
    from django.conf import settings

    return [*settings.PLATFORM_ZONES, settings.CNAME_ZONE]


def _host_part(text: str) -> str:
    """The host (with any port or userinfo still attached) of a pasted URL or name."""
    if "://" in text:
        try:
            return urlsplit(text).netloc
        except ValueError:
            raise InvalidHostname(
                "That address could not be read; enter just the hostname, like gallery.example.com."
            ) from None
    return re.split(r"[/?#]", text, maxsplit=1)[0]


def _reject_addresses_ports_and_userinfo(host: str) -> None:
    if "@" in host:
        raise InvalidHostname("Remove the user name and “@”; enter just the hostname, like gallery.example.com.")
    if host.startswith("["):
        raise InvalidHostname("IP addresses can't be connected; enter a hostname, like gallery.example.com.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise InvalidHostname("IP addresses can't be connected; enter a hostname, like gallery.example.com.")
    if ":" in host:
        raise InvalidHostname(
            "Remove the port (the “:” and the number after it); custom domains are always served on the standard ports."
        )


def _check_label(label: str, hostname_for_message: str) -> str:
    """One label in ASCII (punycode) form, or InvalidHostname."""
    if label == "":
        raise InvalidHostname(f"“{hostname_for_message}” has an empty part (two dots in a row, or a dot at the start).")
    if label == "*":
        raise InvalidHostname("Wildcard domains (“*.”) aren't supported yet; add each hostname on its own.")
    if not label.isascii():
        try:
            label = idna.alabel(label).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise InvalidHostname(f"“{label}” contains characters that can't be used in a domain name.") from None
    elif label.startswith("xn--"):
        # Already punycode: it must decode and round-trip, or it is not a real IDN label.
        try:
            if idna.alabel(idna.ulabel(label)).decode("ascii") != label:
                raise idna.IDNAError("does not round-trip")
        except (idna.IDNAError, UnicodeError):
            raise InvalidHostname(f"“{label}” is not a valid internationalised label.") from None
    if "_" in label:
        raise InvalidHostname("Underscores (“_”) aren't allowed in hostnames; use hyphens (“-”) instead.")
    if not _LDH_LABEL.match(label):
        bad = next(ch for ch in label if not re.match(r"[a-z0-9-]", ch))
        shown = "a space" if bad.isspace() else f"“{bad}”"
        raise InvalidHostname(f"Hostnames can't contain {shown}; use only letters, digits and hyphens.")
    if label.startswith("-") or label.endswith("-"):
        raise InvalidHostname(f"“{label}” starts or ends with a hyphen, which hostnames don't allow.")
    if len(label) > MAX_LABEL_OCTETS:
        raise InvalidHostname(
            f"Each part of a hostname can be at most {MAX_LABEL_OCTETS} characters; “{label[:20]}…” is {len(label)}."
        )
    return label


def _reject_reserved_and_platform(hostname: str, platform_zones: Iterable[str]) -> None:
    if hostname in RESERVED_NAMES or any(hostname.endswith("." + s) or hostname == s for s in RESERVED_SUFFIXES):
        raise InvalidHostname(f"“{to_unicode(hostname)}” is a reserved name that can't exist on the public internet.")
    for zone in platform_zones:
        if hostname == zone or hostname.endswith("." + zone):
            raise InvalidHostname(
                f"“{to_unicode(hostname)}” belongs to VE.AI itself; connect a domain you own instead."
            )


def _reject_public_suffixes(hostname: str) -> None:
    psl = _public_suffix_list()
    suffix = psl.publicsuffix(hostname)
    if suffix is None:
        tld = hostname.rsplit(".", 1)[-1]
        raise InvalidHostname(
            f"“.{to_unicode(tld)}” is not a top-level domain; check the spelling of the end of the hostname."
        )
    if suffix == hostname:
        raise InvalidHostname(
            f"“{to_unicode(hostname)}” is a public suffix shared by many owners; "
            f"enter a domain registered under it, like gallery.yourname.{to_unicode(hostname)}."
        )


def normalize_hostname(raw: str, *, platform_zones: Iterable[str] | None = None) -> str:
    """The normalised ASCII hostname for `raw`, or InvalidHostname saying why not.

    Lowercase, punycode (UTS 46), no scheme, path, port or trailing dot.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidHostname("Enter a hostname, like gallery.example.com.")
    host = _host_part(text).strip()
    if not host:
        raise InvalidHostname("Enter a hostname, like gallery.example.com.")
    _reject_addresses_ports_and_userinfo(host)
    try:
        # UTS 46 mapping lowercases and folds full-width dots and letters; our own
        # checks below give the messages, so STD3 rules stay off here.
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError):
        raise InvalidHostname("That hostname contains characters that can't be used in a domain name.") from None
    if mapped.endswith("."):
        mapped = mapped[:-1]
    labels = [_check_label(label, mapped) for label in mapped.split(".")]
    hostname = ".".join(labels)
    zones = _default_platform_zones() if platform_zones is None else platform_zones
    _reject_reserved_and_platform(hostname, zones)
    if len(labels) < 2:
        raise InvalidHostname(f"Enter the full domain, like {mapped or 'gallery'}.example.com, not a single word.")
    if len(hostname) > MAX_HOSTNAME_OCTETS:
        raise InvalidHostname(
            f"A hostname can be at most {MAX_HOSTNAME_OCTETS} characters; this one is {len(hostname)}."
        )
    if labels[-1].isdigit():
        raise InvalidHostname("IP addresses can't be connected; enter a hostname, like gallery.example.com.")
    _reject_public_suffixes(hostname)
    return hostname


def registrable_domain(hostname: str) -> str:
    """The domain its owner registered (`client.co.uk` for `gallery.client.co.uk`)."""
    return _public_suffix_list().privatesuffix(hostname) or hostname


def is_apex(hostname: str) -> bool:
    """True when the hostname is its own registrable domain, so it cannot hold a CNAME."""
    return registrable_domain(hostname) == hostname


def to_unicode(hostname: str) -> str:
    """The form a person reads (`bücher.de` for `xn--bcher-kva.de`).

    A name IDNA refuses as a whole (a record name such as
    `_ve-verify.xn--bcher-kva.de`) still has its punycode labels decoded.
    """
    try:
        return idna.decode(hostname)
    except (idna.IDNAError, UnicodeError):
        return ".".join(_label_to_unicode(label) for label in hostname.split("."))


def _label_to_unicode(label: str) -> str:
    if not label.lower().startswith("xn--"):
        return label
    try:
        return idna.ulabel(label)
    except (idna.IDNAError, UnicodeError):
        return label


def to_unicode_with_ascii(hostname: str) -> str:
    """The Unicode form, then the ASCII form DNS uses when they differ: `bücher.de (xn--bcher-kva.de)`.

    For where the ASCII form helps as a secondary detail (the admin, the first
    mention of a name in a DNS check's message); elsewhere use `to_unicode`.
    """
    shown = to_unicode(hostname)
    return shown if shown == hostname else f"{shown} ({hostname})"
