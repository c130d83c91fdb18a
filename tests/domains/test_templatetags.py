"""Hostnames in templates: `|breakable` wraps only after dots and changes no visible character."""

import re

from hypothesis import given
from hypothesis import strategies as st

from domains.templatetags.hostnames import breakable


def visible(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def test_a_hostname_breaks_only_after_its_dots_and_keeps_its_hyphenated_labels_whole():
    assert breakable("gallery.client-domain.com") == (
        '<span class="label">gallery.</span><wbr><span class="label">client-domain.</span><wbr>'
        '<span class="label">com</span>'
    )


def test_a_label_too_long_for_a_phone_line_may_still_break_inside():
    long_label = "vrygfru3kxgy3rv5vjwsvfaecy-and-more"
    assert breakable(f"{long_label}.domain.ve.ai").startswith(f"{long_label}.<wbr>")


def test_markup_in_a_hostname_is_escaped():
    assert "<script>" not in breakable("<script>.example")
    assert visible(breakable("<b>.example")) == "&lt;b&gt;.example"


@given(st.lists(st.from_regex(r"\A[a-z0-9ü\-]{1,40}\Z"), min_size=1, max_size=5).map(".".join))
def test_what_people_read_and_copy_is_the_hostname_itself(hostname):
    assert visible(breakable(hostname)) == hostname
