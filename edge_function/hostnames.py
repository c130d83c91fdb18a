"""Host header normalisation (pure, no I/O).

The result is the DynamoDB key: lowercase ASCII, IDN labels in punycode, no
port, no trailing dot. Browsers already send punycode; non-ASCII labels are
converted per label (NFC, lowercase, punycode) like UTS #46 non-transitional
processing, so ``straße.de`` stays distinct from ``strasse.de`` as in the portal
(the stdlib ``idna`` codec is IDNA 2003 and would fold them together).
"""

from __future__ import annotations

import unicodedata

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _label_to_ascii(label: str) -> str | None:
    if label.isascii():
        return label
    label = unicodedata.normalize("NFC", label)
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError:
        return None


def normalise_host(raw: str) -> str | None:
    """Return the normalised hostname, or None if ``raw`` is not a hostname."""
    host = raw.strip().lower()
    if not host or host.startswith("["):  # IPv6 literals are never tenant domains
        return None
    name, sep, port = host.partition(":")
    if sep and not (port.isdigit() and port.isascii()):
        return None
    host = name
    if not host.isascii():
        host = host.translate(_DOTS)
    host = host.removesuffix(".")
    if not host:
        return None
    labels = host.split(".")
    if not host.isascii():
        labels = [_label_to_ascii(label) for label in labels]
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return None
        if not _LABEL_CHARS.issuperset(label):
            return None
    host = ".".join(labels)
    if len(host) > 253:
        return None
    return host


def is_pass_through(host: str, suffixes: tuple[str, ...]) -> bool:
    """True for the platform's own hosts (a suffix itself or any name under it)."""
    for suffix in suffixes:
        if host == suffix or host.endswith("." + suffix):
            return True
    return False
