"""The stand-in's distribution tenants and their managed certificates, kept in one JSON state file.

One multi-tenant distribution (``distribution_id``) and one connection group
(``connection_group_id``) exist; tenants are created, read, updated and
deleted as CloudFront does it (ETags, ``If-Match``, a tenant deleted only when
disabled, one tenant per domain), and each tenant created with a
``ManagedCertificateRequest`` gets a managed certificate that stays
``pending-validation`` until the issuer (``edgelocal.issuer``) proves the
domains over the network and gets a real certificate for them.

What the edge asks: `serves(host)` (an enabled tenant holds the hostname),
`tls_identity(host)` (its certificate and key, once issued) and
`challenge(host, token)` (the HTTP-01 answer CloudFront serves itself while a
certificate is pending).

Every change is written at once (temporary file + rename, mode 0600: it holds
private keys), so a restarted stand-in has the same tenants and certificates.
Errors are `cfapi.ApiError` with CloudFront's codes.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import os
import re
import secrets
import string
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from .cfapi import ApiError

ACCOUNT_ID = "123456789012"
DISTRIBUTION_ID = "E2EDGELOCAL001"
CONNECTION_GROUP_ID = "cg_edgelocal"
# ACM gives up on a validation after 72 hours.
VALIDATION_TIMEOUT = 72 * 3600.0
MAX_DOMAINS = 5  # per tenant (CloudFront's quota)
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-.]{1,126}[a-zA-Z0-9]$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

PENDING = "pending-validation"
ISSUED = "issued"
TIMED_OUT = "validation-timed-out"
CERTIFICATE_STATUSES = (PENDING, ISSUED, "inactive", "expired", TIMED_OUT, "revoked", "failed")


def _id(prefix: str = "", length: int = 14, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def new_etag() -> str:
    return _id("E", 13)


def _iso(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def normalize_domain(domain: str) -> str:
    text = domain.strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ApiError("InvalidArgument", f"The domain {domain!r} is not a valid domain name.") from None
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ApiError("InvalidArgument", f"The domain {domain!r} is not a valid domain name.")
    return text


def _hostname(name: str) -> str:
    """A viewer's Host or SNI as stored: lowercase, without the trailing dot."""
    return name.strip().rstrip(".").lower()


@dataclass(frozen=True)
class TlsIdentity:
    certificate_id: str
    key_pem: str
    chain_pem: str  # leaf first, then the intermediates


class Registry:
    """All tenants and certificates; thread-safe; persisted to `path` on every change."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        distribution_id: str = DISTRIBUTION_ID,
        connection_group_id: str = CONNECTION_GROUP_ID,
        validation_timeout: float = VALIDATION_TIMEOUT,
        invalidation_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.distribution_id = distribution_id
        self.connection_group_id = connection_group_id
        self.validation_timeout = validation_timeout
        self.invalidation_seconds = invalidation_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._challenges: dict[tuple[str, str], str] = {}  # (domain, token) -> key authorization
        self._leases: dict[str, float] = {}  # certificate id -> until when an attempt holds it
        self._tenants: dict[str, dict] = {}
        self._certificates: dict[str, dict] = {}
        self._load()

    # State file -----------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        self._tenants = data.get("tenants", {})
        self._certificates = data.get("certificates", {})

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"tenants": self._tenants, "certificates": self._certificates}, fh, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        """Block until something changes (or `timeout` seconds pass): the issuer's wake-up."""
        with self._changed:
            self._changed.wait(timeout)

    def wake(self) -> None:
        """Wake whoever waits for a change (the issuer, when it is told to stop)."""
        with self._changed:
            self._changed.notify_all()

    # The API --------------------------------------------------------------------------------

    def create_tenant(self, request: Mapping) -> tuple[dict, str]:
        with self._lock:
            self._check_distribution(request["DistributionId"])
            name = request["Name"]
            if not NAME_PATTERN.match(name):
                raise ApiError("InvalidArgument", f"The tenant name {name!r} is not valid.")
            if any(t["Name"] == name for t in self._tenants.values()):
                raise ApiError("EntityAlreadyExists", f"A distribution tenant named {name} already exists.")
            domains = self._checked_domains(request["Domains"], tenant_id=None)
            group = request.get("ConnectionGroupId") or self.connection_group_id
            self._check_connection_group(group)
            now = self._clock()
            tenant_id = _id("dt_", 27, string.ascii_letters + string.digits)
            tenant = {
                "Id": tenant_id,
                "Arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution-tenant/{tenant_id}",
                "Name": name,
                "DistributionId": self.distribution_id,
                "Domains": domains,
                "Tags": request.get("Tags"),
                "Parameters": request.get("Parameters"),
                "ConnectionGroupId": group,
                "Enabled": request.get("Enabled", True),
                "Customizations": None,
                "ManagedCertificateRequest": request.get("ManagedCertificateRequest"),
                "CertificateId": None,
                "CreatedTime": now,
                "LastModifiedTime": now,
                "ETag": new_etag(),
                "Invalidations": [],
            }
            if request.get("Customizations"):
                tenant["Customizations"] = self._checked_customizations(request["Customizations"], domains)
            if tenant["ManagedCertificateRequest"]:
                self._request_certificate(tenant)
            self._tenants[tenant_id] = tenant
            self._save()
            return self._view(tenant), tenant["ETag"]

    def get_tenant(self, identifier: str) -> tuple[dict, str]:
        with self._lock:
            tenant = self._find(identifier)
            return self._view(tenant), tenant["ETag"]

    def get_tenant_by_domain(self, domain: str) -> tuple[dict, str]:
        with self._lock:
            host = domain.strip().rstrip(".").lower()
            for tenant in self._tenants.values():
                if any(d["Domain"] == host for d in tenant["Domains"]):
                    return self._view(tenant), tenant["ETag"]
            raise ApiError("EntityNotFound", f"No distribution tenant has the domain {domain}.")

    def update_tenant(self, tenant_id: str, if_match: str | None, request: Mapping) -> tuple[dict, str]:
        with self._lock:
            tenant = self._by_id(tenant_id)
            self._check_etag(tenant, if_match)
            if "DistributionId" in request:
                self._check_distribution(request["DistributionId"])
            if "ConnectionGroupId" in request:
                self._check_connection_group(request["ConnectionGroupId"])
                tenant["ConnectionGroupId"] = request["ConnectionGroupId"]
            if "Domains" in request:
                tenant["Domains"] = self._checked_domains(request["Domains"], tenant_id=tenant_id)
            if "Parameters" in request:
                tenant["Parameters"] = request["Parameters"]
            if "Enabled" in request:
                tenant["Enabled"] = request["Enabled"]
            if "ManagedCertificateRequest" in request:
                tenant["ManagedCertificateRequest"] = request["ManagedCertificateRequest"]
            if tenant["ManagedCertificateRequest"] and not self._certificate_still_good(tenant):
                self._request_certificate(tenant)
            if "Customizations" in request:
                tenant["Customizations"] = self._checked_customizations(
                    request["Customizations"], [d["Domain"] for d in tenant["Domains"]], current=tenant
                )
            tenant["LastModifiedTime"] = self._clock()
            tenant["ETag"] = new_etag()
            self._save()
            return self._view(tenant), tenant["ETag"]

    def delete_tenant(self, tenant_id: str, if_match: str | None) -> None:
        with self._lock:
            tenant = self._by_id(tenant_id)
            self._check_etag(tenant, if_match)
            if tenant["Enabled"]:
                raise ApiError(
                    "ResourceNotDisabled",
                    f"The distribution tenant {tenant_id} is enabled; disable it before deleting it.",
                )
            del self._tenants[tenant_id]
            certificate = self._certificates.pop(tenant.get("CertificateId") or "", None)
            if certificate is not None:
                self._forget_challenges(certificate)
            self._save()

    def list_tenants(self, association: Mapping | None = None) -> list[dict]:
        with self._lock:
            association = association or {}
            summaries = []
            for tenant in sorted(self._tenants.values(), key=lambda t: t["CreatedTime"]):
                if association.get("DistributionId") not in (None, tenant["DistributionId"]):
                    continue
                if association.get("ConnectionGroupId") not in (None, tenant["ConnectionGroupId"]):
                    continue
                summaries.append({**self._view(tenant), "ETag": tenant["ETag"]})
            return summaries

    def certificate_details(self, identifier: str) -> dict:
        with self._lock:
            tenant = self._find(identifier)
            certificate = self._certificates.get(tenant.get("CertificateId") or "")
            if certificate is None:
                raise ApiError("EntityNotFound", f"The distribution tenant {tenant['Id']} has no managed certificate.")
            self._expire(certificate)
            tokens = [
                {"Domain": domain, "RedirectFrom": f"{domain}/.well-known/acme-challenge/{token}"}
                for (domain, token) in self._challenges
                if domain in certificate["Domains"] and certificate["Status"] == PENDING
            ]
            covered = {t["Domain"] for t in tokens}
            tokens += [{"Domain": d} for d in certificate["Domains"] if d not in covered]
            return {
                "CertificateArn": certificate["Arn"],
                "CertificateStatus": certificate["Status"],
                "ValidationTokenHost": certificate["ValidationTokenHost"],
                "ValidationTokenDetails": tokens,
            }

    def create_invalidation(self, tenant_id: str, batch: Mapping) -> dict:
        with self._lock:
            tenant = self._by_id(tenant_id)
            paths = batch["Paths"]
            items = paths.get("Items") or []
            if paths["Quantity"] != len(items):
                raise ApiError(
                    "InconsistentQuantities", f"Quantity is {paths['Quantity']} but {len(items)} paths were given."
                )
            if not items:
                raise ApiError("InvalidArgument", "An invalidation needs at least one path.")
            if bad := [p for p in items if not p.startswith("/")]:
                raise ApiError("InvalidArgument", f"Paths must start with /: {', '.join(bad)}")
            for existing in tenant["Invalidations"]:
                if existing["InvalidationBatch"]["CallerReference"] == batch["CallerReference"]:
                    return self._invalidation_view(existing)  # CloudFront's idempotency
            invalidation = {
                "Id": _id("I", 13),
                "CreateTime": self._clock(),
                "InvalidationBatch": {"Paths": {"Quantity": len(items), "Items": list(items)}, **batch},
            }
            tenant["Invalidations"].append(invalidation)
            self._save()
            return self._invalidation_view(invalidation)

    def get_invalidation(self, tenant_id: str, invalidation_id: str) -> dict:
        with self._lock:
            tenant = self._by_id(tenant_id)
            for invalidation in tenant["Invalidations"]:
                if invalidation["Id"] == invalidation_id:
                    return self._invalidation_view(invalidation)
            raise ApiError("NoSuchInvalidation", f"The invalidation {invalidation_id} does not exist.")

    def list_invalidations(self, tenant_id: str) -> list[dict]:
        with self._lock:
            tenant = self._by_id(tenant_id)
            newest_first = sorted(tenant["Invalidations"], key=lambda i: i["CreateTime"], reverse=True)
            return [
                {k: v for k, v in self._invalidation_view(i).items() if k != "InvalidationBatch"} for i in newest_first
            ]

    # Not CloudFront's API: the stand-in's own controls (tests, demos) ------------------------

    def set_certificate_status(self, identifier: str, status: str) -> dict:
        """Turn a tenant's certificate revoked, expired, inactive, failed … as AWS might."""
        if status not in CERTIFICATE_STATUSES:
            raise ApiError("InvalidArgument", f"{status!r} is not a certificate status.")
        with self._lock:
            tenant = self._find(identifier)
            certificate = self._certificates.get(tenant.get("CertificateId") or "")
            if certificate is None:
                raise ApiError("EntityNotFound", f"The distribution tenant {tenant['Id']} has no managed certificate.")
            certificate["Status"] = status
            self._save()
            return self.certificate_details(identifier)

    def snapshot(self) -> dict:
        """Tenants and certificates as stored, without private keys (GET /edgelocal/state)."""
        with self._lock:
            return {
                "tenants": [
                    {**self._view(t), "ETag": t["ETag"], "CertificateId": t["CertificateId"]}
                    for t in self._tenants.values()
                ],
                "certificates": [{k: v for k, v in c.items() if k != "KeyPem"} for c in self._certificates.values()],
            }

    # The edge -------------------------------------------------------------------------------

    def serves(self, host: str) -> bool:
        """An enabled tenant holds this hostname (otherwise CloudFront answers 403 itself)."""
        with self._lock:
            return self._enabled_tenant_of(_hostname(host)) is not None

    def tls_identity(self, host: str) -> TlsIdentity | None:
        """The certificate an enabled tenant serves this hostname with, once one is issued."""
        host = _hostname(host)
        with self._lock:
            tenant = self._enabled_tenant_of(host)
            if tenant is None:
                return None
            certificate = self._certificate_in_use(tenant)
            if certificate is None or host not in certificate["Domains"] or "KeyPem" not in certificate:
                return None
            return TlsIdentity(certificate["Id"], certificate["KeyPem"], certificate["ChainPem"])

    def challenge(self, host: str, token: str) -> str | None:
        with self._lock:
            return self._challenges.get((_hostname(host), token))

    # The issuer -----------------------------------------------------------------------------

    def due_certificates(self, lease: float = 60.0) -> list[tuple[str, tuple[str, ...]]]:
        """Pending certificates whose next attempt is due (id, domains), each leased to the caller for
        `lease` seconds or until it reports back; times out the overdue."""
        with self._lock:
            now = self._clock()
            due = []
            changed = False
            for certificate in self._certificates.values():
                if certificate["Status"] != PENDING:
                    continue
                if now - certificate["RequestedAt"] > self.validation_timeout:
                    certificate["Status"] = TIMED_OUT
                    self._forget_challenges(certificate)
                    changed = True
                elif certificate["ValidationTokenHost"] == "cloudfront" and self._next_attempt(certificate) <= now:
                    self._leases[certificate["Id"]] = now + lease
                    due.append((certificate["Id"], tuple(certificate["Domains"])))
            if changed:
                self._save()
            return due

    def next_due_in(self) -> float | None:
        with self._lock:
            now = self._clock()
            waits = [
                max(0.0, min(self._next_attempt(c), c["RequestedAt"] + self.validation_timeout) - now)
                for c in self._certificates.values()
                if c["Status"] == PENDING
            ]
            return min(waits) if waits else None

    def attempt_failed(self, certificate_id: str, reason: str, retry_in: float) -> None:
        with self._lock:
            certificate = self._certificates.get(certificate_id)
            if certificate is None or certificate["Status"] != PENDING:
                return
            certificate["LastAttempt"] = reason
            certificate["Attempts"] = certificate.get("Attempts", 0) + 1
            certificate["NextAttemptAt"] = self._clock() + retry_in
            self._forget_challenges(certificate)
            self._save()

    def fail(self, certificate_id: str, reason: str) -> None:
        """The CA will never issue this certificate (it refuses the name)."""
        with self._lock:
            certificate = self._certificates.get(certificate_id)
            if certificate is None or certificate["Status"] != PENDING:
                return
            certificate.update(Status="failed", LastAttempt=reason)
            self._forget_challenges(certificate)
            self._save()

    def still_pending(self, certificate_id: str) -> bool:
        with self._lock:
            certificate = self._certificates.get(certificate_id)
            return certificate is not None and certificate["Status"] == PENDING

    def set_challenge(self, certificate_id: str, domain: str, token: str, key_authorization: str) -> None:
        with self._lock:
            if self.still_pending(certificate_id):
                self._challenges[(domain, token)] = key_authorization

    def issue(self, certificate_id: str, key_pem: str, chain_pem: str) -> bool:
        """Record the issued certificate; False when it is no longer wanted (tenant gone, domains changed)."""
        leaf = x509.load_pem_x509_certificate(chain_pem.encode())
        with self._lock:
            certificate = self._certificates.get(certificate_id)
            if certificate is None or certificate["Status"] != PENDING:
                return False
            certificate.update(
                Status=ISSUED,
                IssuedAt=self._clock(),
                NotAfter=leaf.not_valid_after_utc.timestamp(),
                Serial=format(leaf.serial_number, "x"),
                KeyPem=key_pem,
                ChainPem=chain_pem,
            )
            self._forget_challenges(certificate)
            self._save()
            return True

    def certificate(self, certificate_id: str) -> dict | None:
        with self._lock:
            found = self._certificates.get(certificate_id)
            return copy.deepcopy(found) if found else None

    # Inside ---------------------------------------------------------------------------------

    def _view(self, tenant: dict) -> dict:
        """The DistributionTenant shape CloudFront answers with."""
        in_use = self._certificate_in_use(tenant) if tenant["Enabled"] else None
        covered = set(in_use["Domains"]) if in_use else set()
        domains = [{**d, "Status": "active" if d["Domain"] in covered else "inactive"} for d in tenant["Domains"]]
        view = {
            "Id": tenant["Id"],
            "DistributionId": tenant["DistributionId"],
            "Name": tenant["Name"],
            "Arn": tenant["Arn"],
            "Domains": domains,
            "Tags": tenant.get("Tags"),
            "Customizations": tenant.get("Customizations"),
            "Parameters": tenant.get("Parameters"),
            "ConnectionGroupId": tenant["ConnectionGroupId"],
            "CreatedTime": _iso(tenant["CreatedTime"]),
            "LastModifiedTime": _iso(tenant["LastModifiedTime"]),
            "Enabled": tenant["Enabled"],
            "Status": "Deployed",
        }
        return {k: v for k, v in view.items() if v is not None}

    def _invalidation_view(self, invalidation: dict) -> dict:
        done = self._clock() - invalidation["CreateTime"] >= self.invalidation_seconds
        return {
            "Id": invalidation["Id"],
            "Status": "Completed" if done else "InProgress",
            "CreateTime": _iso(invalidation["CreateTime"]),
            "InvalidationBatch": invalidation["InvalidationBatch"],
        }

    def _find(self, identifier: str) -> dict:
        for tenant in self._tenants.values():
            if identifier in (tenant["Id"], tenant["Arn"], tenant["Name"]):
                return tenant
        raise ApiError("EntityNotFound", f"The distribution tenant {identifier} does not exist.")

    def _by_id(self, tenant_id: str) -> dict:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise ApiError("EntityNotFound", f"The distribution tenant {tenant_id} does not exist.")
        return tenant

    def _check_etag(self, tenant: dict, if_match: str | None) -> None:
        if not if_match:
            raise ApiError("InvalidIfMatchVersion", "The If-Match version is missing or not valid.")
        if if_match != tenant["ETag"]:
            raise ApiError(
                "PreconditionFailed", "The precondition given in one or more of the request fields evaluated to false."
            )

    def _check_distribution(self, distribution_id: str) -> None:
        if distribution_id != self.distribution_id:
            raise ApiError("EntityNotFound", f"The distribution {distribution_id} does not exist.")

    def _check_connection_group(self, group: str) -> None:
        if group != self.connection_group_id:
            raise ApiError("EntityNotFound", f"The connection group {group} does not exist.")

    def _checked_domains(self, items: Iterable[Mapping], *, tenant_id: str | None) -> list[dict]:
        domains = []
        for item in items:
            domain = {"Domain": normalize_domain(item["Domain"])}
            if item.get("ServeOn"):
                domain["ServeOn"] = item["ServeOn"]
            if domain["Domain"] not in (d["Domain"] for d in domains):
                domains.append(domain)
        if not domains:
            raise ApiError("InvalidArgument", "A distribution tenant needs at least one domain.")
        if len(domains) > MAX_DOMAINS:
            raise ApiError("InvalidArgument", f"A distribution tenant can have at most {MAX_DOMAINS} domains.")
        for other in self._tenants.values():
            if other["Id"] == tenant_id:
                continue
            taken = {d["Domain"] for d in other["Domains"]} & {d["Domain"] for d in domains}
            if taken:
                raise ApiError(
                    "CNAMEAlreadyExists",
                    f"One or more of the CNAMEs you provided are already associated with a different resource: "
                    f"{', '.join(sorted(taken))}.",
                )
        return domains

    def _checked_customizations(self, customizations: Mapping, domains: list, current: dict | None = None) -> dict:
        """A certificate attached anew must be issued and cover the domains; one already attached stays
        accepted whatever became of it (an update that only disables a tenant must not fail on it)."""
        names = [d if isinstance(d, str) else d["Domain"] for d in domains]
        arn = (customizations.get("Certificate") or {}).get("Arn")
        attached = (((current or {}).get("Customizations") or {}).get("Certificate") or {}).get("Arn")
        if arn and arn != attached:
            certificate = next((c for c in self._certificates.values() if c["Arn"] == arn), None)
            if certificate is None or certificate["Status"] != ISSUED or not set(names) <= set(certificate["Domains"]):
                raise ApiError(
                    "InvalidArgument",
                    "The specified SSL certificate doesn't exist, isn't issued, or doesn't cover the tenant's domains.",
                )
        return dict(customizations)

    def _request_certificate(self, tenant: dict) -> None:
        old = self._certificates.pop(tenant.get("CertificateId") or "", None)
        if old is not None:
            self._forget_challenges(old)
        request = tenant["ManagedCertificateRequest"]
        certificate_id = str(uuid.uuid4())
        self._certificates[certificate_id] = {
            "Id": certificate_id,
            "Arn": f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/{certificate_id}",
            "TenantId": tenant["Id"],
            "Domains": [d["Domain"] for d in tenant["Domains"]],
            "Status": PENDING,
            "ValidationTokenHost": request["ValidationTokenHost"],
            "RequestedAt": self._clock(),
            "NextAttemptAt": 0,
        }
        tenant["CertificateId"] = certificate_id

    def _certificate_still_good(self, tenant: dict) -> bool:
        """The tenant's managed certificate is pending or issued for exactly its domains."""
        certificate = self._certificates.get(tenant.get("CertificateId") or "")
        if certificate is None:
            return False
        self._expire(certificate)
        return certificate["Status"] in (PENDING, ISSUED) and set(certificate["Domains"]) == {
            d["Domain"] for d in tenant["Domains"]
        }

    def _certificate_in_use(self, tenant: dict) -> dict | None:
        """The attached certificate if any (Customizations), else the managed one: issued and in date."""
        arn = ((tenant.get("Customizations") or {}).get("Certificate") or {}).get("Arn")
        if arn:
            found = next((c for c in self._certificates.values() if c["Arn"] == arn), None)
        else:
            found = self._certificates.get(tenant.get("CertificateId") or "")
        if found is None:
            return None
        self._expire(found)
        return found if found["Status"] == ISSUED else None

    def _expire(self, certificate: dict) -> None:
        if certificate["Status"] == ISSUED and certificate.get("NotAfter", float("inf")) <= self._clock():
            certificate["Status"] = "expired"

    def _next_attempt(self, certificate: dict) -> float:
        return max(certificate.get("NextAttemptAt", 0), self._leases.get(certificate["Id"], 0))

    def _enabled_tenant_of(self, host: str) -> dict | None:
        for tenant in self._tenants.values():
            if tenant["Enabled"] and any(d["Domain"] == host for d in tenant["Domains"]):
                return tenant
        return None

    def _forget_challenges(self, certificate: dict) -> None:
        self._leases.pop(certificate["Id"], None)
        for key in [k for k in self._challenges if k[0] in certificate["Domains"]]:
            del self._challenges[key]
