"""Hostnames in templates as people read them: `{% load hostnames %}{{ block.hostname|with_ascii }}`, `|breakable`."""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from domains.hostnames import to_unicode_with_ascii

register = template.Library()


@register.filter
def with_ascii(hostname: str) -> str:
    """The Unicode name, then the ASCII form DNS uses when it differs: `bücher.de (xn--bcher-kva.de)`."""
    return to_unicode_with_ascii(hostname or "")


# A label longer than this may still break inside (a phone is about 30 monospace characters wide).
UNBROKEN_LABEL_MAX = 24


@register.filter
def breakable(hostname: str) -> SafeString:
    """The hostname marked up to wrap only after its dots, never at a hyphen or inside a label.

    `gallery.client-domain.com` becomes `gallery.` / `client-domain.` / `com`
    (spans the CSS keeps whole, with <wbr> between); what is copied or read
    aloud is the same text. Labels too long to fit a phone's line stay breakable.
    """
    labels = (hostname or "").split(".")
    parts = [label + ("." if index < len(labels) - 1 else "") for index, label in enumerate(labels)]
    return mark_safe("<wbr>".join(_kept_whole(part) for part in parts))  # every part is escaped


def _kept_whole(part: str) -> str:
    if len(part) > UNBROKEN_LABEL_MAX:
        return escape(part)
    return format_html('<span class="label">{}</span>', part)
