"""Lambda@Edge request events as CloudFront builds them (pure standard library).

The one builder for everything that feeds the edge function an event: the
local CloudFront stand-in (``edgelocal.cloudfront``), the benchmarks and the
tests. The shape is the documented one (CloudFront Developer Guide, "Lambda@Edge
event structure", request events):

    {"Records": [{"cf": {"config": {distributionDomainName, distributionId,
                                    eventType, requestId},
                         "request": {clientIp, headers, method, querystring,
                                     uri, origin (origin-request only)}}}]}

Header keys are lowercased and each holds a list of ``{"key", "value"}``
keeping the viewer's spelling. For an origin request CloudFront also adds
``X-Forwarded-For`` (the viewer's address, appended to any it sent) and
``Via``, and names the origin the request goes to (custom or S3, never both).
It lives outside ``edge_function/`` so the Lambda zip ships no test helper.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable

DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
DISTRIBUTION_ID = "EDFDVBD6EXAMPLE"
CLIENT_IP = "203.0.113.178"
# Identifies the CloudFront server, not the request, so one value per process is realistic.
VIA = "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"
EVENT_TYPES = ("viewer-request", "origin-request")

Header = tuple[str, str]


def cf_headers(pairs: Iterable[Header]) -> dict[str, list[dict[str, str]]]:
    """Headers as CloudFront passes them: lowercased keys, each a list of {key, value}."""
    headers: dict[str, list[dict[str, str]]] = {}
    for key, value in pairs:
        headers.setdefault(key.lower(), []).append({"key": key, "value": value})
    return headers


def custom_origin(
    domain_name: str,
    *,
    protocol: str = "https",
    port: int | None = None,
    path: str = "",
    custom_headers: Iterable[Header] = (),
) -> dict:
    """The ``origin`` of a request bound for a custom (HTTP) origin such as Amplify."""
    if protocol not in ("http", "https"):
        raise ValueError(f"a custom origin speaks http or https, not {protocol!r}")
    return {
        "custom": {
            "customHeaders": cf_headers(custom_headers),
            "domainName": domain_name,
            "keepaliveTimeout": 5,
            "path": path.rstrip("/"),
            "port": port or (443 if protocol == "https" else 80),
            "protocol": protocol,
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }


def s3_origin(
    domain_name: str, *, region: str = "us-east-1", path: str = "", custom_headers: Iterable[Header] = ()
) -> dict:
    """The ``origin`` of a request bound for an S3 bucket."""
    return {
        "s3": {
            "authMethod": "none",
            "customHeaders": cf_headers(custom_headers),
            "domainName": domain_name,
            "path": path.rstrip("/"),
            "region": region,
        }
    }


def request_event(
    headers: Iterable[Header],
    *,
    origin: dict | None,
    event_type: str = "origin-request",
    method: str = "GET",
    uri: str = "/",
    querystring: str = "",
    client_ip: str = CLIENT_IP,
    distribution_domain: str = DISTRIBUTION_DOMAIN,
    distribution_id: str = DISTRIBUTION_ID,
    request_id: str | None = None,
) -> dict:
    """One request event; ``headers`` are the viewer's (name, value) pairs in order.

    An origin-request event needs ``origin`` (from `custom_origin` or `s3_origin`)
    and gets CloudFront's own X-Forwarded-For and Via; a viewer-request event
    has neither.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"eventType must be one of {', '.join(EVENT_TYPES)}, not {event_type!r}")
    if (event_type == "origin-request") != (origin is not None):
        raise ValueError("an origin-request event names its origin; a viewer-request event has none")
    request_headers = cf_headers(headers)
    if event_type == "origin-request":
        forwarded = [h["value"] for h in request_headers.pop("x-forwarded-for", [])]
        request_headers["x-forwarded-for"] = [{"key": "X-Forwarded-For", "value": ", ".join([*forwarded, client_ip])}]
        request_headers["via"] = [{"key": "Via", "value": VIA}]
    request: dict = {
        "clientIp": client_ip,
        "headers": request_headers,
        "method": method,
        "querystring": querystring,
        "uri": uri or "/",
    }
    if origin is not None:
        request["origin"] = origin
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": distribution_domain,
                        "distributionId": distribution_id,
                        "eventType": event_type,
                        "requestId": request_id or _request_id(),
                    },
                    "request": request,
                }
            }
        ]
    }


def _request_id() -> str:
    """A fresh URL-safe id per request, as CloudFront gives each one."""
    return base64.urlsafe_b64encode(os.urandom(40)).decode()
