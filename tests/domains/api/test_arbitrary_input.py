"""Arbitrary bytes in every header, parameter and body the API reads: never a 5xx, always the API's error shape.

Hypothesis builds requests the way a WSGI server hands them to Django: header
values are bytes read as Latin-1, query parameters and path segments are
percent-encoded bytes. A value is arbitrary bytes, often behind the prefix
that gets it past the first check (`Bearer vek_…`, `sessionid=…`, a cursor's
base64 of `p=…`), so the bytes reach the code that looks them up.

The first test puts the bytes in one input at a time of an otherwise valid
request (alice's API key, or charlie's session, which names workspaces by id),
on every endpoint; the second mixes several hostile inputs at once. Each
request runs in a savepoint that is rolled back, so examples do not see each
other's writes, and on PostgreSQL (CI's second pass) a query that fails in one
cannot poison the next.
"""

import base64
import json
from urllib.parse import quote_from_bytes

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.domains.api.conftest import error_of
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

API = "/api/v1/domains/"
THE_DOMAIN = "{domain}"  # the fixture domain's id, filled in at run time

raw = st.binary(max_size=48)
ascii_bytes = st.text(st.characters(max_codepoint=127), max_size=32).map(str.encode)


def behind(*prefixes: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, alone or after one of the prefixes; often with a NUL byte in them, which
    PostgreSQL refuses in any text it is given."""
    return st.one_of(
        raw,
        st.tuples(st.sampled_from(prefixes), raw | ascii_bytes).map(b"".join),
        st.tuples(st.sampled_from([b"", *prefixes]), ascii_bytes, st.just(b"\x00"), raw).map(b"".join),
    )


cursors = st.one_of(
    raw,
    raw.map(base64.b64encode),
    st.tuples(st.sampled_from([b"p=", b"o=1&p=", b"r=1&p=", b"o=", b"r=", b"p=2026-01-01T00:00:00"]), ascii_bytes)
    .map(b"".join)
    .map(base64.b64encode),
)
# Text that stresses JSON and PostgreSQL: NUL, lone surrogates, controls.
nasty_text = st.text(
    alphabet=st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff", "\n", ".", "-", "a"]),
    max_size=80,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nasty_text, children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    raw,
    json_values.map(lambda value: json.dumps(value).encode()),
    nasty_text.map(lambda host: json.dumps({"hostname": host}).encode()),
    st.tuples(st.just(b'{"hostname": "'), raw, st.just(b'"}')).map(b"".join),
)

# Every input the API reads, with the bytes to try in it.
PARAMETERS = {
    "workspace": behind(b"ws_"),
    "status": behind(b"active", b"pending"),
    "search": behind(b"gallery"),
    "cursor": cursors,
    "page_size": behind(b"1", b"100", b"-"),
}
HEADERS = {
    "Authorization": behind(b"Bearer vek_", b"Bearer ", b"Basic ")
    | st.tuples(st.just(b"Bearer vek_"), ascii_bytes, st.just(b"\x00_"), ascii_bytes).map(b"".join),
    "X-Workspace": behind(b"ws_"),
    "Idempotency-Key": behind(b"key-"),
    "Content-Type": behind(b"application/json", b"application/json; charset="),
    "X-CSRFToken": behind(b"a" * 32),
    "Cookie": behind(b"sessionid=", b"csrftoken=", b'sessionid="'),
    "Host": behind(b"testserver", b"testserver:"),
}
INPUTS = [*(f"?{name}" for name in PARAMETERS), *HEADERS, "path id", "path action", "body"]
LISTS = [
    ("GET", ""),
    ("GET", "{domain}/events/"),
    ("GET", "{domain}/checks/"),
    ("GET", "{domain}/notification-events/"),
]
ENDPOINTS = [
    *LISTS,
    ("POST", ""),
    ("GET", "{domain}/"),
    ("DELETE", "{domain}/"),
    ("POST", "{domain}/retry/"),
    ("POST", "{domain}/check/"),  # DNS goes to the loopback devdns (the devdns fixture)
]
CALLERS = ["alice's key", "charlie's session"]
# Who sends an input to the endpoints that read it, so the bytes get as far as they can.
READERS = {
    "?workspace": (["charlie's session"], ENDPOINTS),  # a key only compares it; a session looks it up
    "X-Workspace": (["charlie's session"], ENDPOINTS),
    "?status": (CALLERS, [("GET", "")]),
    "?search": (CALLERS, [("GET", "")]),
    "?cursor": (CALLERS, LISTS),
    "?page_size": (CALLERS, LISTS),
    "Idempotency-Key": (["alice's key"], [("POST", "")]),
    "body": (["alice's key"], [("POST", ""), ("POST", "{domain}/retry/")]),
}
segments = raw.map(lambda value: quote_from_bytes(value, safe=""))


def hostile(name: str) -> st.SearchStrategy:
    if name.startswith("?"):
        return PARAMETERS[name[1:]]
    if name in HEADERS:
        return HEADERS[name]
    return bodies if name == "body" else segments


def send(client, credentials: dict[str, str], *, method: str, path: str, query=(), headers=(), body: bytes = b""):
    """One request, inside a savepoint that is rolled back; returns the response."""
    extra = dict(credentials)
    for name, value in headers:
        key = "CONTENT_TYPE" if name == "Content-Type" else f"HTTP_{name.upper().replace('-', '_')}"
        extra[key] = value.decode("latin-1")  # PEP 3333: a header's bytes as Latin-1 text
    extra["QUERY_STRING"] = "&".join(
        f"{quote_from_bytes(name, safe='')}={quote_from_bytes(value, safe='')}" for name, value in query
    )
    client.raise_request_exception = False
    with transaction.atomic():
        response = client.generic(method, API + path, body, content_type="application/json", **extra)
        transaction.set_rollback(True)
    return response


def assert_handled(response) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/json", response.content[:300]
        error_of(response)


@pytest.fixture
def a_domain(acme):
    return DomainFactory(workspace=acme, hostname="gallery.client-domain.com")


@pytest.fixture
def callers(alice_key, charlie, a_domain, client, devdns) -> dict[str, dict[str, str]]:
    client.force_login(charlie)
    return {
        "alice's key": {"HTTP_AUTHORIZATION": f"Bearer {alice_key}"},
        "charlie's session": {"HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}"},
        "nobody": {},
    }


@pytest.fixture(autouse=True)
def generous_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "1000000/min", "api_writes": "1000000/min"},
    }


FUZZ = dict(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", INPUTS)
@settings(max_examples=40, **FUZZ)
@given(data=st.data())
def test_arbitrary_bytes_in_one_input_of_a_valid_request(anonymous, callers, a_domain, name, data):
    callers_of_it, endpoints = READERS.get(name, (CALLERS, ENDPOINTS))
    caller = data.draw(st.sampled_from(callers_of_it), label="caller")
    method, path = data.draw(st.sampled_from(endpoints), label="endpoint")
    path = path.format(domain=a_domain.pk)
    value = data.draw(hostile(name), label=name)
    query, headers, body = [], [], json.dumps({"hostname": "new.client-domain.com"}).encode()
    if name.startswith("?"):
        query = [(name[1:].encode(), value)]
    elif name in HEADERS:
        headers = [(name, value)]
    elif name == "body":
        body = value
    elif name == "path id":
        path = f"{value}/"
    else:
        path = f"{a_domain.pk}/{value}/"

    assert_handled(send(anonymous, callers[caller], method=method, path=path, query=query, headers=headers, body=body))


@settings(max_examples=150, **FUZZ)
@given(data=st.data())
def test_several_hostile_inputs_at_once(anonymous, callers, a_domain, data):
    caller = data.draw(st.sampled_from([*CALLERS, "nobody"]), label="caller")
    method, path = data.draw(st.sampled_from(ENDPOINTS), label="endpoint")
    parameters = st.sampled_from(sorted(PARAMETERS)).flatmap(lambda n: st.tuples(st.just(n.encode()), PARAMETERS[n]))
    headers = st.sampled_from(sorted(HEADERS)).flatmap(lambda n: st.tuples(st.just(n), HEADERS[n]))
    response = send(
        anonymous,
        callers[caller],
        method=method,
        path=path.format(domain=a_domain.pk),
        query=data.draw(st.lists(parameters | st.tuples(raw, raw), max_size=4), label="query"),
        headers=data.draw(st.lists(headers, max_size=4, unique_by=lambda pair: pair[0]), label="headers"),
        body=data.draw(bodies, label="body"),
    )
    assert_handled(response)
