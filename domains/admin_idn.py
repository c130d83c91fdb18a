"""Hostnames in the admin: shown in Unicode with the ASCII form DNS uses after it, and found by either.

The tables store the ASCII (punycode) form only; a search for a Unicode
name also looks for its ASCII form, so `bücher.de` finds `xn--bcher-kva.de`.
A whole label is needed for that (punycode encodes a label at a time):
`bücher` finds it, `büch` does not.
"""

import idna
from django.contrib import admin

from domains.hostnames import to_unicode_with_ascii


def ascii_search_term(term: str) -> str:
    """The search words with each Unicode label in the ASCII form hostnames are stored in."""
    return " ".join(_ascii_word(word) for word in term.split())


def _ascii_word(word: str) -> str:
    if word.isascii():
        return word
    try:
        mapped = idna.uts46_remap(word, std3_rules=False, transitional=False)
        return ".".join(label if label.isascii() else idna.alabel(label).decode("ascii") for label in mapped.split("."))
    except (idna.IDNAError, UnicodeError):
        return word  # not a hostname: searched as typed only


class HostnameSearchMixin:
    """For a ModelAdmin searching ASCII hostname fields: a Unicode name finds them too."""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        ascii_term = ascii_search_term(search_term)
        if ascii_term != " ".join(search_term.split()):
            more, more_duplicates = super().get_search_results(request, queryset, ascii_term)
            found, may_have_duplicates = found | more, may_have_duplicates or more_duplicates
        return found, may_have_duplicates


class HostnameAdminMixin(HostnameSearchMixin):
    """For a ModelAdmin of rows with a `hostname`: a column showing both forms, and search by either.

    Put `hostname_shown` in list_display instead of `hostname`.
    """

    @admin.display(description="hostname", ordering="hostname")
    def hostname_shown(self, row) -> str:
        return to_unicode_with_ascii(row.hostname)
