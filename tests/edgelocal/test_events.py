"""The Lambda@Edge request events that the local CloudFront, the benchmarks and the tests feed the edge function."""

import re

import pytest

from edgelocal.events import custom_origin, request_event, s3_origin

DOCS_REQUEST_ID = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="


def request_of(event: dict) -> dict:
    [record] = event["Records"]
    return record["cf"]["request"]


def test_it_builds_the_origin_request_event_the_lambda_edge_docs_show():
    event = request_event(
        [("User-Agent", "Amazon CloudFront"), ("Host", "example.org"), ("Cache-Control", "no-cache")],
        origin=custom_origin("example.org"),
        request_id=DOCS_REQUEST_ID,
    )

    # The origin-request example of "Lambda@Edge event structure" (CloudFront Developer
    # Guide), except sslProtocols: the distribution in deploy/edge.yaml allows TLSv1.2 only.
    assert event == {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": DOCS_REQUEST_ID,
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [
                                {
                                    "key": "Via",
                                    "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)",
                                }
                            ],
                            "host": [{"key": "Host", "value": "example.org"}],
                            "cache-control": [{"key": "Cache-Control", "value": "no-cache"}],
                        },
                        "method": "GET",
                        "origin": {
                            "custom": {
                                "customHeaders": {},
                                "domainName": "example.org",
                                "keepaliveTimeout": 5,
                                "path": "",
                                "port": 443,
                                "protocol": "https",
                                "readTimeout": 30,
                                "sslProtocols": ["TLSv1.2"],
                            }
                        },
                        "querystring": "",
                        "uri": "/",
                    },
                }
            }
        ]
    }


def test_it_lowercases_header_names_and_keeps_each_value_with_the_viewers_spelling_in_order():
    request = request_of(
        request_event(
            [("Host", "gallery.client.com"), ("X-Workspace-Id", "ws-a"), ("x-workspace-id", "ws-b")],
            origin=custom_origin("main.example.amplifyapp.com"),
        )
    )

    assert request["headers"]["x-workspace-id"] == [
        {"key": "X-Workspace-Id", "value": "ws-a"},
        {"key": "x-workspace-id", "value": "ws-b"},
    ]
    assert "X-Workspace-Id" not in request["headers"]


def test_it_appends_the_viewers_address_to_the_forwarded_for_the_viewer_sent():
    request = request_of(
        request_event(
            [("Host", "gallery.client.com"), ("X-Forwarded-For", "198.51.100.9")],
            origin=custom_origin("main.example.amplifyapp.com"),
            client_ip="203.0.113.5",
        )
    )

    assert request["headers"]["x-forwarded-for"] == [{"key": "X-Forwarded-For", "value": "198.51.100.9, 203.0.113.5"}]


def test_a_viewer_request_has_neither_an_origin_nor_cloudfronts_own_headers():
    event = request_event([("Host", "gallery.client.com")], origin=None, event_type="viewer-request")

    assert event["Records"][0]["cf"]["config"]["eventType"] == "viewer-request"
    assert request_of(event) == {
        "clientIp": "203.0.113.178",
        "headers": {"host": [{"key": "Host", "value": "gallery.client.com"}]},
        "method": "GET",
        "querystring": "",
        "uri": "/",
    }


def test_it_describes_a_local_http_origin_with_its_port_path_and_secret_header():
    origin = custom_origin(
        "127.0.0.1", protocol="http", port=8081, path="/app/", custom_headers=[("x-origin-secret", "s3cret")]
    )["custom"]

    assert (origin["domainName"], origin["protocol"], origin["port"], origin["path"]) == (
        "127.0.0.1",
        "http",
        8081,
        "/app",
    )
    assert origin["customHeaders"] == {"x-origin-secret": [{"key": "x-origin-secret", "value": "s3cret"}]}
    assert custom_origin("127.0.0.1", protocol="http")["custom"]["port"] == 80


def test_an_s3_origin_names_its_bucket_and_region_and_no_custom_origin():
    request = request_of(
        request_event([("Host", "gallery.client.com")], origin=s3_origin("assets.s3.amazonaws.com", region="eu-west-1"))
    )

    assert set(request["origin"]) == {"s3"}
    assert (request["origin"]["s3"]["domainName"], request["origin"]["s3"]["region"]) == (
        "assets.s3.amazonaws.com",
        "eu-west-1",
    )


def test_each_event_carries_its_own_url_safe_request_id():
    ids = {
        request_event([], origin=custom_origin("o.example.com"))["Records"][0]["cf"]["config"]["requestId"]
        for _ in range(50)
    }

    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+=*", request_id) for request_id in ids)


@pytest.mark.parametrize(
    ("event_type", "origin", "message"),
    [
        ("origin-request", None, "names its origin"),
        ("viewer-request", custom_origin("o.example.com"), "has none"),
        ("origin-response", None, "eventType must be one of"),
    ],
)
def test_it_refuses_an_event_cloudfront_would_never_send(event_type, origin, message):
    with pytest.raises(ValueError, match=message):
        request_event([("Host", "gallery.client.com")], origin=origin, event_type=event_type)


def test_it_refuses_an_origin_that_does_not_speak_http():
    with pytest.raises(ValueError, match="http or https"):
        custom_origin("127.0.0.1", protocol="")
