"""A fake CloudFront behind the real boto3 client, for the lifecycle tests.

It answers through botocore's own hooks, as botocore's Stubber does, so the
client serialises and validates every request against the service model
before the fake sees it, and the fake's answers are validated against the
operation's output shape before the client returns them. Unlike the Stubber
it keeps state (tenants, their certificates and ETags, invalidations), so a
test can run many steps, and it injects faults: throttling, an outage, a
changed ETag, a worker killed right after CloudFront did what it asked.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from datetime import UTC, datetime

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from botocore.validate import ParamValidator

ACCOUNT = "123456789012"


class WorkerKilled(BaseException):  # noqa: N818 - it is not an error the code under test may catch
    """The worker died right after CloudFront did what it was asked, before it saw the answer."""


class FakeCloudFront:
    def __init__(self, client):
        self.client = client
        self.model = client.meta.service_model
        self.tenants: dict[str, dict] = {}
        self.etags: dict[str, int] = {}
        self.certificates: dict[str, dict] = {}
        self.invalidations: dict[tuple[str, str], dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.faults: list[dict] = []
        self.down = False
        self.kill_after: set[str] = set()
        self._params: dict | None = None
        self._ids = itertools.count(1)

    # --- hooks ------------------------------------------------------------------

    def activate(self) -> None:
        events = self.client.meta.events
        events.register_first("before-parameter-build.cloudfront.*", self._remember, unique_id="fake-cloudfront-params")
        events.register("before-call.cloudfront.*", self._answer, unique_id="fake-cloudfront-call")

    def deactivate(self) -> None:
        events = self.client.meta.events
        events.unregister("before-parameter-build.cloudfront.*", unique_id="fake-cloudfront-params")
        events.unregister("before-call.cloudfront.*", unique_id="fake-cloudfront-call")

    def _remember(self, params, **kwargs):
        self._params = copy.deepcopy(params)

    def _answer(self, model, **kwargs):
        operation, params = model.name, self._params or {}
        self.calls.append((operation, params))
        if self.down:
            raise EndpointConnectionError(endpoint_url="http://cloudfront.test")
        for fault in self.faults:
            if fault["operation"] in (None, operation) and fault["times"] > 0:
                fault["times"] -= 1
                return self._error(fault["code"], fault["status"], "injected")
        try:
            status, body = getattr(self, f"_{operation}")(**params)
        except _Error as error:
            return self._error(error.code, error.status, error.message)
        if body and model.output_shape is not None:
            report = ParamValidator().validate(body, model.output_shape)
            assert not report.has_errors(), report.generate_report()
        if operation in self.kill_after:
            raise WorkerKilled(operation)
        return AWSResponse(None, status, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": status}}

    @staticmethod
    def _error(code: str, status: int, message: str):
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse(None, status, {}, None), parsed

    # --- operations ---------------------------------------------------------------

    def _CreateDistributionTenant(self, *, Name, Domains, DistributionId, **rest):  # noqa: N802, N803
        if any(t["Name"] == Name for t in self.tenants.values()):
            raise _Error("EntityAlreadyExists", 409, f"a tenant named {Name} exists")
        hostnames = [d["Domain"] for d in Domains]
        if any(self.tenant_for(h) for h in hostnames):
            raise _Error("CNAMEAlreadyExists", 409, "a tenant serves one of these domains")
        tenant_id = f"dt_{next(self._ids):04d}{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        tenant = {
            "Id": tenant_id,
            "DistributionId": DistributionId,
            "Name": Name,
            "Arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution-tenant/{tenant_id}",
            "Domains": [{"Domain": h, "Status": "active"} for h in hostnames],
            "Parameters": rest.get("Parameters", []),
            "ConnectionGroupId": rest.get("ConnectionGroupId", "cg_default"),
            "CreatedTime": now,
            "LastModifiedTime": now,
            "Enabled": rest.get("Enabled", True),
            "Status": "Deployed",
        }
        if rest.get("Customizations"):
            tenant["Customizations"] = rest["Customizations"]
        self.tenants[tenant_id] = tenant
        self.etags[tenant_id] = 1
        if rest.get("ManagedCertificateRequest"):
            self._new_certificate(tenant_id)
        return 201, self._tenant_body(tenant_id)

    def _GetDistributionTenant(self, *, Identifier):  # noqa: N802, N803
        return 200, self._tenant_body(self._find(Identifier))

    def _GetDistributionTenantByDomain(self, *, Domain):  # noqa: N802, N803
        tenant = self.tenant_for(Domain)
        if tenant is None:
            raise _Error("EntityNotFound", 404, f"no tenant for {Domain}")
        return 200, self._tenant_body(tenant["Id"])

    def _GetManagedCertificateDetails(self, *, Identifier):  # noqa: N802, N803
        tenant_id = self._find(Identifier)
        certificate = self.certificates.get(tenant_id)
        if certificate is None:
            raise _Error("EntityNotFound", 404, "no managed certificate")
        return 200, {
            "ManagedCertificateDetails": {
                "CertificateArn": certificate["arn"],
                "CertificateStatus": certificate["status"],
                "ValidationTokenHost": "cloudfront",
                "ValidationTokenDetails": [
                    {"Domain": d["Domain"], "RedirectFrom": f"{d['Domain']}/.well-known/pki-validation/x.txt"}
                    for d in self.tenants[tenant_id]["Domains"]
                ],
            }
        }

    def _UpdateDistributionTenant(self, *, Id, IfMatch, **rest):  # noqa: N802, N803
        tenant_id = self._find(Id)
        self._require_etag(tenant_id, IfMatch)
        tenant = self.tenants[tenant_id]
        if "Domains" in rest:
            tenant["Domains"] = [{"Domain": d["Domain"], "Status": "active"} for d in rest["Domains"]]
        for key in ("DistributionId", "Parameters", "ConnectionGroupId", "Enabled"):
            if key in rest:
                tenant[key] = rest[key]
        if rest.get("Customizations"):
            tenant["Customizations"] = rest["Customizations"]
        else:
            tenant.pop("Customizations", None)
        if rest.get("ManagedCertificateRequest"):
            self._new_certificate(tenant_id)
        tenant["LastModifiedTime"] = datetime.now(UTC)
        self.etags[tenant_id] += 1
        return 200, self._tenant_body(tenant_id)

    def _DeleteDistributionTenant(self, *, Id, IfMatch):  # noqa: N802, N803
        tenant_id = self._find(Id)
        self._require_etag(tenant_id, IfMatch)
        if self.tenants[tenant_id]["Enabled"]:
            raise _Error("ResourceNotDisabled", 409, "disable the tenant first")
        del self.tenants[tenant_id]
        self.certificates.pop(tenant_id, None)
        return 204, {}

    def _CreateInvalidationForDistributionTenant(self, *, Id, InvalidationBatch):  # noqa: N802, N803
        tenant_id = self._find(Id)
        key = (tenant_id, InvalidationBatch["CallerReference"])
        if key not in self.invalidations:
            self.invalidations[key] = {
                "Id": f"I{len(self.invalidations) + 1:05d}",
                "Status": "InProgress",
                "CreateTime": datetime.now(UTC),
                "InvalidationBatch": InvalidationBatch,
            }
        invalidation = self.invalidations[key]
        return 201, {"Location": f"https://cloudfront.test/{invalidation['Id']}", "Invalidation": invalidation}

    # --- helpers --------------------------------------------------------------------

    def _find(self, identifier: str) -> str:
        for tenant_id, tenant in self.tenants.items():
            if identifier in (tenant_id, tenant["Name"], tenant["Arn"]):
                return tenant_id
        raise _Error("EntityNotFound", 404, f"no tenant {identifier}")

    def _require_etag(self, tenant_id: str, if_match: str) -> None:
        if if_match != self._etag(tenant_id):
            raise _Error("PreconditionFailed", 412, "the If-Match version is out of date")

    def _etag(self, tenant_id: str) -> str:
        return f"E{self.etags[tenant_id]}"

    def _tenant_body(self, tenant_id: str) -> dict:
        return {"DistributionTenant": copy.deepcopy(self.tenants[tenant_id]), "ETag": self._etag(tenant_id)}

    def _new_certificate(self, tenant_id: str) -> None:
        arn = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{uuid.uuid4()}"
        self.certificates[tenant_id] = {"arn": arn, "status": "pending-validation"}

    # --- what tests do and look at ------------------------------------------------------

    def tenant_for(self, hostname: str) -> dict | None:
        return next(
            (t for t in self.tenants.values() if any(d["Domain"] == hostname for d in t["Domains"])),
            None,
        )

    def certificate_for(self, hostname: str) -> dict | None:
        tenant = self.tenant_for(hostname)
        return self.certificates.get(tenant["Id"]) if tenant else None

    def set_certificate(self, hostname: str, status: str) -> None:
        """CloudFront's validation (or the certificate's life) moved on: issued, validation-timed-out, expired…"""
        self.certificate_for(hostname)["status"] = status

    def touch(self, hostname: str) -> None:
        """Someone else changed the tenant: its ETag moves on."""
        self.etags[self.tenant_for(hostname)["Id"]] += 1

    def fail(self, operation: str | None, code: str = "Throttling", status: int = 400, times: int = 1) -> None:
        """The next `times` calls of `operation` (any, with None) answer with this error."""
        self.faults.append({"operation": operation, "code": code, "status": status, "times": times})

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def params(self, operation: str) -> list[dict]:
        return [params for name, params in self.calls if name == operation]


class _Error(Exception):
    def __init__(self, code: str, status: int, message: str):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message
