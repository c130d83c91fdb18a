"""Hostnames in templates as people read them: `{% load hostnames %}{{ block.hostname|with_ascii }}`."""

from django import template

from domains.hostnames import to_unicode_with_ascii

register = template.Library()


@register.filter
def with_ascii(hostname: str) -> str:
    """The Unicode name, then the ASCII form DNS uses when it differs: `bücher.de (xn--bcher-kva.de)`."""
    return to_unicode_with_ascii(hostname or "")
