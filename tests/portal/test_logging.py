"""Log lines are key=value with the request id, so one domain's journey can be grepped."""

import logging

from portal.logging import KeyValueFormatter, request_id


def format_line(message, **extra):
    record = logging.LogRecord("domains.services", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return KeyValueFormatter().format(record)


def test_extra_fields_become_key_value_pairs_and_values_with_spaces_are_quoted():
    line = format_line("domain active", host="gallery.client-domain.com", reason='points to "x" now')

    assert "level=info logger=domains.services" in line
    assert 'msg="domain active"' in line
    assert "host=gallery.client-domain.com" in line
    assert 'reason="points to \\"x\\" now"' in line


def test_a_line_logged_during_a_request_carries_its_id():
    token = request_id.set("abc123")
    try:
        assert "request_id=abc123" in format_line("hello")
    finally:
        request_id.reset(token)


def test_each_response_names_its_request_id_and_reuses_a_safe_incoming_one(client, db):
    assert len(client.get("/accounts/login/")["X-Request-ID"]) == 32
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="edge42")["X-Request-ID"] == "edge42"
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="a b\nInjected: 1")["X-Request-ID"] != "a b\nInjected: 1"
