"""Crafted requests get a 4xx in the API's error shape, never a 500 or an HTML page.

Marked postgres: PostgreSQL refuses NUL bytes in text, so a NUL that reaches a
query is a 500 there and not on SQLite; CI runs these against both.
"""

import base64
import json

import pytest
from django.test import override_settings

from tests.domains.api.conftest import error_of
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

URL = "/api/v1/domains/"


def cursor(raw: str) -> str:
    """A cursor as DRF encodes one: base64 of its query string (o=offset, r=reverse, p=position)."""
    return base64.b64encode(raw.encode()).decode()


class TestCursors:
    @pytest.mark.parametrize(
        "raw",
        [
            "p=notadate",  # a position the ordering field cannot hold (the reported cD1ub3RhZGF0ZQ==)
            "p=99999-01-01",
            "o=1&p=2026-13-45T99:00:00",
            "p=0001-01-01T00:00:00%2B14:00",  # a real date that does not exist in UTC
            "p=",
            "p=1&p=2",
            "r=x",
            "o=-1",
        ],
    )
    def test_a_crafted_cursor_is_a_400_field_error(self, as_alice, acme, raw):
        DomainFactory(workspace=acme)
        response = as_alice.get(URL, {"cursor": cursor(raw)})
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid" and list(error["fields"]) == ["cursor"]

    def test_the_reported_cursor_is_a_400(self, as_alice):
        response = as_alice.get(f"{URL}?cursor=cD1ub3RhZGF0ZQ==")
        assert response.status_code == 400 and error_of(response)["fields"] == {"cursor": ["Invalid cursor."]}

    @pytest.mark.parametrize("value", ["not base64!", "%%%", "AAAA"])
    def test_a_cursor_that_is_not_one_is_a_400_too(self, as_alice, value):
        response = as_alice.get(URL, {"cursor": value})
        assert response.status_code == 400 and list(error_of(response)["fields"]) == ["cursor"]

    def test_the_history_lists_check_their_cursors_too(self, as_alice, acme):
        domain = DomainFactory(workspace=acme)
        for path in ("events", "checks"):
            response = as_alice.get(f"{URL}{domain.pk}/{path}/", {"cursor": cursor("p=notadate")})
            assert response.status_code == 400, path

    def test_a_real_cursor_still_pages(self, as_alice, acme):
        for _ in range(3):
            DomainFactory(workspace=acme)
        first = as_alice.get(URL, {"page_size": 2}).json()
        assert len(as_alice.get(first["next"]).json()["results"]) == 1


class TestNulBytes:
    """A NUL byte anywhere the API reads text is refused before it reaches a query."""

    def test_in_the_workspace_parameter(self, as_charlie):
        response = as_charlie.get(URL, {"workspace": "ws_\x00"})
        assert response.status_code == 400
        assert error_of(response)["fields"] == {"workspace": ["NUL bytes are not allowed."]}

    def test_in_the_workspace_header(self, as_charlie):
        response = as_charlie.get(URL, headers={"X-Workspace": "ws_\x00"})
        assert response.status_code == 400
        assert error_of(response)["fields"] == {"X-Workspace": ["NUL bytes are not allowed."]}

    def test_in_the_idempotency_key(self, as_alice):
        response = as_alice.post(
            URL, {"hostname": "gallery.client-domain.com"}, format="json", headers={"Idempotency-Key": "k\x00"}
        )
        assert response.status_code == 400
        assert list(error_of(response)["fields"]) == ["Idempotency-Key"]

    def test_in_the_api_key(self, anonymous):
        response = anonymous.get(URL, headers={"Authorization": "Bearer vek_ab\x00cd_secret"})
        assert response.status_code == 400 and list(error_of(response)["fields"]) == ["Authorization"]

    def test_in_the_session_cookie(self, anonymous):
        anonymous.cookies["sessionid"] = "abcdefghijklmnop\x00"
        response = anonymous.get(URL)
        assert response.status_code == 400 and error_of(response)["code"] == "invalid"

    def test_in_a_parameter_name_or_the_path(self, as_alice):
        assert as_alice.get(URL, {"x\x00": "1"}).status_code == 400
        assert error_of(as_alice.get(f"{URL}%00/"))["code"] in {"invalid", "not_found"}

    def test_in_the_body_is_a_field_error(self, as_alice):
        response = as_alice.post(URL, {"hostname": "gallery\x00.client-domain.com"}, format="json")
        assert response.status_code == 400 and list(error_of(response)["fields"]) == ["hostname"]


class TestBodies:
    def test_json_nested_100000_deep_is_a_parse_error(self, as_alice):
        body = "[" * 100_000 + "]" * 100_000
        response = as_alice.generic("POST", URL, body, content_type="application/json")
        assert response.status_code == 400 and error_of(response)["code"] == "parse_error"

    def test_json_nested_deeper_than_the_limit_is_refused_before_it_reaches_the_view(self, as_alice):
        deep: object = 1
        for _ in range(40):
            deep = [deep]
        body = json.dumps({"hostname": "gallery.client-domain.com", "x": deep})
        response = as_alice.generic("POST", URL, body, content_type="application/json")
        assert response.status_code == 400 and "nested" in error_of(response)["message"]

    def test_ordinary_nesting_is_fine(self, as_alice):
        body = json.dumps({"hostname": "gallery.client-domain.com", "x": [[{"a": [1]}]]})
        response = as_alice.generic("POST", URL, body, content_type="application/json")
        assert response.status_code == 201

    def test_a_body_over_the_upload_limit_is_the_apis_json_error(self, as_alice):
        body = json.dumps({"hostname": "a" * (30 * 1024 * 1024)})
        response = as_alice.generic("POST", URL, body, content_type="application/json")
        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/json"
        assert error_of(response)["code"] == "request_too_large"

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
    def test_the_limit_is_djangos_data_upload_max_memory_size(self, as_alice):
        response = as_alice.post(URL, {"hostname": "gallery.client-domain.com", "pad": "x" * 100}, format="json")
        assert response.status_code == 413


class TestDjangoLevelErrorsUnderTheApi:
    def test_a_host_that_is_not_allowed_is_a_json_400(self, as_alice):
        response = as_alice.get(URL, headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert response.headers["Content-Type"] == "application/json"
        assert error_of(response)["code"] == "bad_request"

    def test_an_unexpected_error_is_a_json_500_that_says_nothing_more(self, as_alice, monkeypatch):
        from domains import selectors

        def broken(**kwargs):
            raise RuntimeError("secret detail")

        monkeypatch.setattr(selectors, "domain_list", broken)
        as_alice.raise_request_exception = False
        response = as_alice.get(URL)
        assert response.status_code == 500
        assert response.headers["Content-Type"] == "application/json"
        error = error_of(response)
        assert error["code"] == "server_error" and "secret" not in error["message"]
