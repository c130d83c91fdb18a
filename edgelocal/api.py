"""The CloudFront API of the stand-in: the distribution-tenant subset the portal uses, over HTTP.

Point a real boto3 client at it (``endpoint_url``; any credentials, any
region: signatures are not checked). Requests and answers follow botocore's
model of CloudFront (`edgelocal.cfapi`); the tenants are `edgelocal.tenants`.

Besides CloudFront's own paths (``/2020-05-31/…``) it has a few controls of
its own under ``/edgelocal/`` (JSON), for tests and demos:

    POST /edgelocal/faults               {"throttle": N, "unavailable": N}: the next N API calls
                                         answer Throttling (400) / ServiceUnavailable (503)
    POST /edgelocal/certificate-status   {"tenant": ID-or-name, "status": "revoked"}
    GET  /edgelocal/state                tenants and certificates (no keys)
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse

from . import cfapi
from ._http import AnyMethodHandler
from .cfapi import ApiError
from .tenants import Registry

log = logging.getLogger("edgelocal.api")
API_VERSION_PREFIX = "/2020-05-31/"


class Faults:
    """Injected failures: how many of the next calls answer Throttling or ServiceUnavailable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.throttle = 0
        self.unavailable = 0

    def set(self, *, throttle: int = 0, unavailable: int = 0) -> None:
        with self._lock:
            self.throttle, self.unavailable = max(0, throttle), max(0, unavailable)

    def take(self) -> ApiError | None:
        with self._lock:
            if self.unavailable:
                self.unavailable -= 1
                return ApiError("ServiceUnavailable", "CloudFront is unavailable (an injected fault).")
            if self.throttle:
                self.throttle -= 1
                return ApiError("Throttling", "Rate exceeded")
        return None


def dispatch(registry: Registry, name: str, request: dict, base_url: str) -> dict:
    """Carry out one operation; the result in boto3's response shape."""
    if name == "CreateDistributionTenant":
        tenant, etag = registry.create_tenant(request)
        return {"DistributionTenant": tenant, "ETag": etag}
    if name == "GetDistributionTenant":
        tenant, etag = registry.get_tenant(request["Identifier"])
        return {"DistributionTenant": tenant, "ETag": etag}
    if name == "GetDistributionTenantByDomain":
        tenant, etag = registry.get_tenant_by_domain(request["Domain"])
        return {"DistributionTenant": tenant, "ETag": etag}
    if name == "UpdateDistributionTenant":
        fields = {k: v for k, v in request.items() if k not in ("Id", "IfMatch")}
        tenant, etag = registry.update_tenant(request["Id"], request.get("IfMatch"), fields)
        return {"DistributionTenant": tenant, "ETag": etag}
    if name == "DeleteDistributionTenant":
        registry.delete_tenant(request["Id"], request.get("IfMatch"))
        return {}
    if name == "ListDistributionTenants":
        summaries = registry.list_tenants(request.get("AssociationFilter"))
        start = int(request.get("Marker") or 0)
        size = request.get("MaxItems") or 100
        page = summaries[start : start + size]
        result: dict = {"DistributionTenantList": page}
        if start + size < len(summaries):
            result["NextMarker"] = str(start + size)
        return result
    if name == "GetManagedCertificateDetails":
        return {"ManagedCertificateDetails": registry.certificate_details(request["Identifier"])}
    if name == "CreateInvalidationForDistributionTenant":
        invalidation = registry.create_invalidation(request["Id"], request["InvalidationBatch"])
        location = f"{base_url}/2020-05-31/distribution-tenant/{request['Id']}/invalidation/{invalidation['Id']}"
        return {"Invalidation": invalidation, "Location": location}
    if name == "GetInvalidationForDistributionTenant":
        return {"Invalidation": registry.get_invalidation(request["DistributionTenantId"], request["Id"])}
    if name == "ListInvalidationsForDistributionTenant":
        items = registry.list_invalidations(request["Id"])
        start = int(request.get("Marker") or 0)
        size = request.get("MaxItems") or 100
        page = items[start : start + size]
        truncated = start + size < len(items)
        invalidations = {
            "Marker": request.get("Marker") or "",
            "MaxItems": size,
            "IsTruncated": truncated,
            "Quantity": len(page),
            "Items": page,
        }
        if truncated:
            invalidations["NextMarker"] = str(start + size)
        return {"InvalidationList": invalidations}
    raise ApiError("InvalidArgument", f"{name} is not served by the local stand-in.")


def make_handler(registry: Registry, faults: Faults | None = None):
    faults = faults or Faults()

    class CloudFrontApiHandler(AnyMethodHandler):
        server_version = "CloudFront"

        def respond(self, body: bytes) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith("/edgelocal/"):
                self._control(url.path, body)
                return
            found = cfapi.route(self.command, url.path)
            try:
                if found is None:
                    if cfapi.path_exists(url.path) or url.path.startswith(API_VERSION_PREFIX):
                        raise ApiError("InvalidArgument", f"{self.command} {url.path} is not served by the stand-in.")
                    raise ApiError("EntityNotFound", f"No such resource: {url.path}")
                name, uri_params = found
                fault = faults.take()
                if fault is not None:
                    raise fault
                request = cfapi.parse_request(
                    name, uri_params, urllib.parse.parse_qs(url.query), dict(self.headers.items()), body
                )
                host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
                result = dispatch(registry, name, request, f"http://{host}")
                status, headers, data = cfapi.serialize_response(name, result)
                log.info("cloudfront-api op=%s status=%s", name, status)
            except ApiError as error:
                status, headers, data = cfapi.serialize_error(error)
                log.info("cloudfront-api %s %s error=%s", self.command, url.path, error.code)
            self._send(status, headers, data)

        def _control(self, path: str, body: bytes) -> None:
            try:
                payload = json.loads(body or b"{}")
                if path == "/edgelocal/faults" and self.command == "POST":
                    faults.set(throttle=int(payload.get("throttle", 0)), unavailable=int(payload.get("unavailable", 0)))
                    answer = {"throttle": faults.throttle, "unavailable": faults.unavailable}
                elif path == "/edgelocal/certificate-status" and self.command == "POST":
                    answer = registry.set_certificate_status(str(payload["tenant"]), str(payload["status"]))
                elif path == "/edgelocal/state" and self.command == "GET":
                    answer = registry.snapshot()
                else:
                    self._send(404, [("Content-Type", "application/json")], b'{"error": "no such control"}')
                    return
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, [("Content-Type", "application/json")], json.dumps({"error": str(exc)}).encode())
                return
            except ApiError as error:
                self._send(
                    error.status, [("Content-Type", "application/json")], json.dumps({"error": error.code}).encode()
                )
                return
            self._send(200, [("Content-Type", "application/json")], json.dumps(answer, default=str).encode())

        def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            log.debug("cloudfront-api " + format, *args)

    return CloudFrontApiHandler
