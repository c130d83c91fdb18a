"""Outcomes of one request through the handler, against a real moto endpoint."""

import json

import pytest

from tests.edge_function.conftest import ORIGIN_DOMAIN, header, origin_request


@pytest.fixture(params=["shards", "host"])
def handler(request, make_handler, table):
    """The same outcomes in both lookup modes."""
    table.serve("gallery.client.com", "ws-alice")
    table.tombstone("old.client.com", "ws-alice")
    return make_handler(table.name, {"us-east-1": table.endpoint}, lookup_mode=request.param)


def test_it_sends_a_servable_host_to_the_origin_with_its_workspace(handler):
    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert header(request, "x-forwarded-host") == ["gallery.client.com"]
    assert header(request, "host") == [ORIGIN_DOMAIN]
    assert request["uri"] == "/"
    assert "status" not in request


@pytest.mark.parametrize("spelling", ["x-workspace-id", "X-Workspace-Id", "X-WORKSPACE-ID"])
def test_it_drops_a_viewer_sent_workspace_header(handler, spelling):
    event = origin_request(
        "gallery.client.com",
        extra_headers=[(spelling, "ws-charlie"), (spelling, "ws-mallory")],
    )

    request = handler(event)

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert "ws-charlie" not in json.dumps(request)


def test_it_drops_a_viewer_sent_workspace_header_on_a_404_too(handler):
    response = handler(origin_request("unknown.client.com", extra_headers=[("X-Workspace-Id", "ws-charlie")]))

    assert response["status"] == "404"
    assert "ws-charlie" not in json.dumps(response)


def test_it_drops_a_viewer_sent_workspace_header_on_pass_through(handler):
    request = handler(origin_request("app.ve.ai", extra_headers=[("x-workspace-id", "ws-charlie")]))

    assert "x-workspace-id" not in request["headers"]


def test_it_lets_the_platforms_own_hosts_through_untouched(handler):
    handler.reader.regions = []  # would fail loudly if the table were asked

    request = handler(origin_request("app.ve.ai:443"))

    assert header(request, "host") == ["app.ve.ai:443"]
    assert "x-forwarded-host" not in request["headers"]


@pytest.mark.parametrize("raw", ["Gallery.Client.Com", "gallery.client.com:443", "GALLERY.client.com."])
def test_it_finds_the_domain_whatever_the_spelling_of_host(handler, raw):
    assert header(handler(origin_request(raw)), "x-workspace-id") == ["ws-alice"]


def test_it_answers_404_with_a_branded_page_for_an_unknown_host(handler):
    response = handler(origin_request("unknown.client.com"))

    assert response["status"] == "404"
    assert "unknown.client.com" in response["body"]
    assert "not connected to a VE.AI workspace" in response["body"]
    assert header(response, "cache-control") == ["public, max-age=10"]
    assert header(response, "content-type") == ["text/html; charset=utf-8"]


def test_it_answers_404_for_a_tombstoned_host(handler):
    assert handler(origin_request("old.client.com"))["status"] == "404"


def test_it_answers_404_for_a_host_header_that_is_not_a_hostname(handler):
    assert handler(origin_request("bad host!"))["status"] == "404"
    assert handler(origin_request(None))["status"] == "404"


def test_in_host_mode_it_never_serves_an_item_without_a_workspace(make_handler, table):
    table.client.put_item(
        TableName=table.name,
        Item={
            "host": {"S": "broken.client.com"},
            "state": {"S": "serve"},
            "version": {"N": "1"},
        },
    )
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, lookup_mode="host")

    assert handler(origin_request("broken.client.com"))["status"] == "404"


def test_it_adds_the_workspace_on_a_viewer_request_without_rewriting_host(handler):
    request = handler(origin_request("gallery.client.com", event_type="viewer-request"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert header(request, "host") == ["gallery.client.com"]


def test_it_points_host_at_an_s3_origin_when_the_origin_is_s3(handler):
    request = handler(origin_request("gallery.client.com", s3_origin=True))

    assert header(request, "host") == ["ve-gallery-assets.s3.amazonaws.com"]


def test_in_host_mode_it_logs_one_json_line_per_miss_with_outcome_region_and_latency(make_handler, table):
    table.serve("gallery.client.com", "ws-alice")
    logs = []
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, logs=logs, lookup_mode="host")

    handler(origin_request("gallery.client.com"))
    handler(origin_request("gallery.client.com"))

    assert len(logs) == 1
    assert logs[0]["host"] == "gallery.client.com"
    assert logs[0]["outcome"] == "serve"
    assert logs[0]["region"] == "us-east-1"
    assert logs[0]["latency_ms"] >= 0
    json.dumps(logs[0])


def test_in_host_mode_it_logs_its_cache_counters_on_the_first_miss_after_each_interval(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    logs = []
    handler = make_handler(
        table.name, {"us-east-1": table.endpoint}, logs=logs, stats_interval_seconds=60, lookup_mode="host"
    )
    handler(origin_request("gallery.client.com"))
    handler(origin_request("gallery.client.com"))
    handler(origin_request("unknown.client.com"))
    handler(origin_request("unknown.client.com"))
    assert not [line for line in logs if line["event"] == "edge_cache"]

    clock.advance(61)
    handler(origin_request("gallery.client.com"))  # still fresh: a hit
    handler(origin_request("other.client.com"))  # a miss, which logs

    counters = [line for line in logs if line["event"] == "edge_cache"]
    assert counters == [
        {
            "event": "edge_cache",
            "hits": 2,
            "negative_hits": 1,
            "misses": 3,
            "stale_serves": 0,
            "evictions": 0,
            "entries": 2,
        }
    ]


def test_the_module_entry_point_answers_with_the_bundled_config(aws_fake_credentials, monkeypatch):
    import edge_function.handler as module

    response = module.lambda_handler(origin_request("app.ve.ai"), None)

    assert header(response, "host") == ["app.ve.ai"]


FOREIGN_WORKSPACE_FORMS = ["x-workspace-id", "X-Workspace-Id", "x_workspace_id", "X_Workspace_Id", "x-workspace_id"]


@pytest.mark.parametrize("spelling", FOREIGN_WORKSPACE_FORMS)
def test_no_viewer_sent_form_of_the_workspace_header_reaches_the_origin(handler, spelling):
    request = handler(origin_request("gallery.client.com", extra_headers=[(spelling, "ws-charlie")]))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert "ws-charlie" not in json.dumps(request)


@pytest.mark.parametrize("spelling", FOREIGN_WORKSPACE_FORMS)
def test_no_viewer_sent_form_of_the_workspace_header_passes_through_with_a_platform_host(handler, spelling):
    request = handler(origin_request("app.ve.ai", extra_headers=[(spelling, "ws-charlie")]))

    assert header(request, "host") == ["app.ve.ai"]
    assert "ws-charlie" not in json.dumps(request)


@pytest.mark.parametrize("spelling", ["X-Forwarded-Host", "x_forwarded_host"])
def test_a_viewer_sent_forwarded_host_never_reaches_the_origin(handler, spelling):
    served = handler(origin_request("gallery.client.com", extra_headers=[(spelling, "victim.client.com")]))
    passed = handler(origin_request("app.ve.ai", extra_headers=[(spelling, "victim.client.com")]))

    assert header(served, "x-forwarded-host") == ["gallery.client.com"]
    assert "victim.client.com" not in json.dumps(served)
    assert "victim.client.com" not in json.dumps(passed)


def test_a_host_longer_than_any_hostname_is_answered_404_without_growing_the_memo(handler):
    handler(origin_request("gallery.client.com"))
    remembered = handler.memo_size()

    for i in range(50):
        response = handler(origin_request(f"{i}{'a' * 300}.client.com"))
        assert response["status"] == "404"

    assert handler.memo_size() == remembered
    longest = ("a" * 62 + ".") * 3 + "b" * 60 + ".com"  # 253 characters: still a hostname
    assert handler(origin_request(longest + ".:443"))["status"] == "404"
    assert handler.memo_size() == remembered + 1
