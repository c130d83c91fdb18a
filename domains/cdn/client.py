"""The only code that talks to CloudFront: distribution tenants and their managed certificates.

One cached boto3 client (CloudFront's API is global; `CLOUDFRONT_ENDPOINT_URL`
points it at the local stand-in), with explicit timeouts and bounded retries.
Failures are classified as `CdnUnavailable` (throttled, down, timed out: try
again later) or `CdnError` (refused: retrying alone will not fix it).
botocore checks neither enums nor patterns, so this module does: what it sends
and the statuses CloudFront answers with.

The operations, as botocore's service model (cloudfront 2020-05-31) defines them:
CreateDistributionTenant, GetDistributionTenant, GetDistributionTenantByDomain,
GetManagedCertificateDetails, UpdateDistributionTenant (If-Match: the latest
ETag; a PreconditionFailed re-reads and tries again), DeleteDistributionTenant
and CreateInvalidationForDistributionTenant.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from django.conf import settings

from domains.cdn.states import VALIDATION_TOKEN_HOST, VALIDATION_TOKEN_HOSTS, CertificateStatus, certificate_status

logger = logging.getLogger(__name__)

# Error codes that mean "try again later" (CloudFront says Throttling; the rest are AWS-wide).
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "TooManyInvalidationsInProgress",
    }
)
# The ETag sent was not the latest: read the tenant again and retry with the new one.
STALE_ETAG_CODES = frozenset({"PreconditionFailed", "InvalidIfMatchVersion"})
# How often a write is retried after reading a newer ETag.
ETAG_RETRIES = 3

# CreateDistributionTenantRequestNameString and ParameterName, checked here (botocore does not).
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]")
_PARAMETER_NAME = re.compile(r"[a-zA-Z0-9-_]{1,128}")
_DOMAIN_STATUSES = frozenset({"active", "inactive"})
_SERVE_ON = frozenset({"any", "anycast-ip-list-only"})


class CdnUnavailable(Exception):
    """CloudFront could not be reached, timed out or asked us to slow down: the call may succeed later."""


class CdnError(Exception):
    """CloudFront refused the request for a reason retrying alone will not fix."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class TenantNotFound(CdnError):
    """No such distribution tenant (EntityNotFound)."""


class TenantConflict(CdnError):
    """The name or the hostname belongs to another tenant already (EntityAlreadyExists, CNAMEAlreadyExists)."""


class TenantNotDisabled(CdnUnavailable):
    """Deleting a tenant that is not disabled yet (ResourceNotDisabled): disable it and try again later."""


@dataclass(frozen=True)
class Tenant:
    """A distribution tenant as CloudFront last described it, with the ETag to update it by."""

    id: str
    name: str
    distribution_id: str
    domains: tuple[str, ...]
    enabled: bool
    etag: str
    status: str = ""
    arn: str = ""
    connection_group_id: str = ""
    certificate_arn: str = ""  # Customizations.Certificate.Arn: the certificate attached to it
    parameters: dict[str, str] = field(default_factory=dict)
    customizations: dict = field(default_factory=dict)  # as CloudFront returned them, sent back on updates
    serve_on: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_response(cls, response: dict) -> Tenant:
        raw = response.get("DistributionTenant") or {}
        if not raw.get("Id"):
            raise CdnError("CloudFront answered without a distribution tenant", code="MalformedResponse")
        domains, serve_on = [], {}
        for item in raw.get("Domains") or []:
            if item.get("Status") not in (None, *_DOMAIN_STATUSES) or item.get("ServeOn") not in (None, *_SERVE_ON):
                raise CdnError(f"unexpected domain entry {item!r}", code="MalformedResponse")
            domains.append(item["Domain"])
            if item.get("ServeOn"):
                serve_on[item["Domain"]] = item["ServeOn"]
        customizations = raw.get("Customizations") or {}
        return cls(
            id=raw["Id"],
            name=raw.get("Name", ""),
            distribution_id=raw.get("DistributionId", ""),
            domains=tuple(domains),
            enabled=bool(raw.get("Enabled", False)),
            etag=response.get("ETag", ""),
            status=raw.get("Status", ""),
            arn=raw.get("Arn", ""),
            connection_group_id=raw.get("ConnectionGroupId", ""),
            certificate_arn=(customizations.get("Certificate") or {}).get("Arn", ""),
            parameters={p["Name"]: p["Value"] for p in raw.get("Parameters") or []},
            customizations=customizations,
            serve_on=serve_on,
        )


@dataclass(frozen=True)
class Certificate:
    """A tenant's CloudFront-managed certificate (GetManagedCertificateDetails)."""

    arn: str
    status: CertificateStatus | None
    validation_token_host: str = ""


# --- The client -----------------------------------------------------------------

_client_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def _client_key() -> tuple:
    return (
        settings.CLOUDFRONT_ENDPOINT_URL or None,
        float(settings.CLOUDFRONT_CONNECT_TIMEOUT),
        float(settings.CLOUDFRONT_READ_TIMEOUT),
        int(settings.CLOUDFRONT_MAX_ATTEMPTS),
    )


def get_client():
    """The cached low-level CloudFront client, keyed by the settings it was built from."""
    key = _client_key()
    client = _clients.get(key)
    if client is not None:
        return client
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _build_client(*key)
            _clients[key] = client
    return client


def _build_client(endpoint_url, connect_timeout, read_timeout, max_attempts):
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # total_max_attempts counts the first try (botocore's max_attempts would count retries only).
        retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
    )
    session = boto3.session.Session()
    kwargs = {}
    if endpoint_url and session.get_credentials() is None:
        # The local stand-in accepts any signature; don't make a laptop configure AWS.
        kwargs = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    # CloudFront's API is global and signed for us-east-1.
    return session.client("cloudfront", region_name="us-east-1", endpoint_url=endpoint_url, config=config, **kwargs)


def reset_client() -> None:
    """Forget the cached clients (tests that change the endpoint or timeouts)."""
    with _client_lock:
        _clients.clear()


def _classify(exc: Exception) -> Exception:
    """A botocore failure as CdnUnavailable (retry later) or CdnError (and its kinds)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"{code}: {message}"[:400]
        if code == "ResourceNotDisabled":
            return TenantNotDisabled(text)
        if code in TRANSIENT_CODES or status >= 500:
            return CdnUnavailable(text)
        if code == "EntityNotFound":
            return TenantNotFound(text, code=code)
        if code in ("EntityAlreadyExists", "CNAMEAlreadyExists"):
            return TenantConflict(text, code=code)
        return CdnError(text, code=code)
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return CdnUnavailable(f"{type(exc).__name__}: {exc}"[:400])
    if isinstance(exc, NoCredentialsError):
        return CdnError(f"{type(exc).__name__}: {exc}"[:400], code="NoCredentials")
    return CdnUnavailable(f"{type(exc).__name__}: {exc}"[:400])


def _call(operation: str, **request) -> dict:
    try:
        return getattr(get_client(), operation)(**request)
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _classify(exc) from exc


def _stale_etag(exc: CdnError) -> bool:
    return exc.code in STALE_ETAG_CODES


# --- Tenants --------------------------------------------------------------------


def tenant_name(domain_id_hex: str, generation: int = 1) -> str:
    """The tenant's Name, derived from the domain's id (and its generation, should it need a new tenant)."""
    name = f"ve-{domain_id_hex}" if generation <= 1 else f"ve-{domain_id_hex}-{generation}"
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a valid distribution tenant name: {name!r}")
    return name


def _parameters(values: dict[str, str]) -> list[dict]:
    for name, value in values.items():
        if not _PARAMETER_NAME.fullmatch(name) or not 1 <= len(value) <= 256:
            raise ValueError(f"not a valid tenant parameter: {name}={value!r}")
    return [{"Name": name, "Value": value} for name, value in values.items()]


def _managed_certificate_request() -> dict:
    if VALIDATION_TOKEN_HOST not in VALIDATION_TOKEN_HOSTS:
        raise ValueError(f"unknown ValidationTokenHost {VALIDATION_TOKEN_HOST!r}")
    return {"ValidationTokenHost": VALIDATION_TOKEN_HOST}


def create_tenant(*, name: str, hostname: str, workspace_id: str, enabled: bool = True) -> Tenant:
    """CreateDistributionTenant: one hostname, in our distribution and connection group, with a managed certificate.

    Raises TenantConflict when the name or the hostname is taken (look the
    hostname up with find_tenant: a create that already happened is found there).
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a valid distribution tenant name: {name!r}")
    request = {
        "DistributionId": settings.CLOUDFRONT_DISTRIBUTION_ID,
        "Name": name,
        "Domains": [{"Domain": hostname}],
        "Parameters": _parameters({settings.CLOUDFRONT_TENANT_PARAMETER: workspace_id}),
        "ManagedCertificateRequest": _managed_certificate_request(),
        "Enabled": enabled,
    }
    if settings.CLOUDFRONT_CONNECTION_GROUP_ID:
        request["ConnectionGroupId"] = settings.CLOUDFRONT_CONNECTION_GROUP_ID
    tenant = Tenant.from_response(_call("create_distribution_tenant", **request))
    logger.info("cloudfront tenant created", extra={"host": hostname, "tenant": tenant.id, "tenant_name": name})
    return tenant


def get_tenant(tenant_id: str) -> Tenant | None:
    """GetDistributionTenant, or None when there is no such tenant."""
    try:
        return Tenant.from_response(_call("get_distribution_tenant", Identifier=tenant_id))
    except TenantNotFound:
        return None


def find_tenant(hostname: str) -> Tenant | None:
    """GetDistributionTenantByDomain: the tenant serving `hostname`, or None."""
    try:
        return Tenant.from_response(_call("get_distribution_tenant_by_domain", Domain=hostname))
    except TenantNotFound:
        return None


def get_certificate(tenant_id: str) -> Certificate | None:
    """GetManagedCertificateDetails for the tenant; None when it has no managed certificate."""
    try:
        response = _call("get_managed_certificate_details", Identifier=tenant_id)
    except TenantNotFound:
        return None
    details = response.get("ManagedCertificateDetails") or {}
    try:
        status = certificate_status(details.get("CertificateStatus"))
    except ValueError as exc:
        raise CdnError(str(exc), code="MalformedResponse") from None
    host = details.get("ValidationTokenHost", "")
    if host and host not in VALIDATION_TOKEN_HOSTS:
        raise CdnError(f"unknown ValidationTokenHost {host!r}", code="MalformedResponse")
    return Certificate(arn=details.get("CertificateArn", ""), status=status, validation_token_host=host)


def _update_request(
    tenant: Tenant, *, enabled: bool | None, certificate_arn: str | None, request_certificate: bool
) -> dict:
    """UpdateDistributionTenant's request: the tenant as last read, with the changes (its ETag as If-Match)."""
    domains = []
    for domain in tenant.domains:
        item = {"Domain": domain}
        if domain in tenant.serve_on:
            item["ServeOn"] = tenant.serve_on[domain]
        domains.append(item)
    request = {
        "Id": tenant.id,
        "IfMatch": tenant.etag,
        "DistributionId": tenant.distribution_id,
        "Domains": domains,
        "Enabled": tenant.enabled if enabled is None else enabled,
    }
    if tenant.connection_group_id:
        request["ConnectionGroupId"] = tenant.connection_group_id
    if tenant.parameters:
        request["Parameters"] = _parameters(tenant.parameters)
    customizations = {key: value for key, value in tenant.customizations.items() if key != "Certificate"}
    arn = tenant.certificate_arn if certificate_arn is None else certificate_arn
    if arn:
        customizations["Certificate"] = {"Arn": arn}
    if customizations:
        request["Customizations"] = customizations
    if request_certificate:
        request["ManagedCertificateRequest"] = _managed_certificate_request()
    return request


def update_tenant(
    tenant: Tenant,
    *,
    enabled: bool | None = None,
    certificate_arn: str | None = None,
    request_certificate: bool = False,
) -> Tenant:
    """UpdateDistributionTenant with the latest ETag: enable or disable it, attach a certificate, or request a new one.

    A PreconditionFailed (someone else changed the tenant since `tenant` was
    read) reads it again and retries the same change on the new version, up
    to ETAG_RETRIES times; a change the latest version already has is not sent.
    """

    def done(current: Tenant) -> bool:
        return (
            not request_certificate
            and (enabled is None or current.enabled == enabled)
            and (certificate_arn is None or current.certificate_arn == certificate_arn)
        )

    def send(current: Tenant) -> Tenant:
        request = _update_request(
            current, enabled=enabled, certificate_arn=certificate_arn, request_certificate=request_certificate
        )
        return Tenant.from_response(_call("update_distribution_tenant", **request))

    updated = _with_latest_etag(tenant, send, done=done)
    logger.info(
        "cloudfront tenant updated",
        extra={
            "tenant": updated.id,
            "enabled": updated.enabled,
            "certificate_attached": bool(updated.certificate_arn),
            "certificate_requested": request_certificate,
        },
    )
    return updated


def delete_tenant(tenant: Tenant) -> None:
    """DeleteDistributionTenant with the latest ETag; a tenant already gone is fine.

    Raises TenantNotDisabled while it is still enabled (or its disabling is
    still deploying): disable it first and come back.
    """

    def send(current: Tenant) -> Tenant:
        _call("delete_distribution_tenant", Id=current.id, IfMatch=current.etag)
        return current

    try:
        _with_latest_etag(tenant, send, done=lambda current: False)
    except TenantNotFound:
        pass
    logger.info("cloudfront tenant deleted", extra={"tenant": tenant.id})


def _with_latest_etag(tenant: Tenant, send: Callable[[Tenant], Tenant], *, done: Callable[[Tenant], bool]) -> Tenant:
    current = tenant
    for attempt in range(ETAG_RETRIES + 1):
        try:
            return send(current)
        except CdnError as exc:
            if not _stale_etag(exc) or attempt == ETAG_RETRIES:
                raise
        logger.info("cloudfront tenant changed meanwhile; reading it again", extra={"tenant": tenant.id})
        latest = get_tenant(tenant.id)
        if latest is None:
            raise TenantNotFound(f"EntityNotFound: tenant {tenant.id} is gone", code="EntityNotFound")
        if done(latest):
            return latest
        current = latest
    raise AssertionError("unreachable")  # pragma: no cover


def invalidate_tenant(tenant_id: str, *, reference: str, paths: tuple[str, ...] = ("/*",)) -> str:
    """CreateInvalidationForDistributionTenant: drop the tenant's cached objects; returns the invalidation id.

    The same `reference` (CallerReference) asks for the same invalidation, so a retry never queues a second one.
    """
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"invalidation paths start with '/': {path!r}")
    response = _call(
        "create_invalidation_for_distribution_tenant",
        Id=tenant_id,
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": reference},
    )
    invalidation = response.get("Invalidation") or {}
    logger.info("cloudfront tenant invalidated", extra={"tenant": tenant_id, "invalidation": invalidation.get("Id")})
    return invalidation.get("Id", "")
