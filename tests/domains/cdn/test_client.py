"""The CloudFront wrapper, call by call, through botocore's Stubber.

The Stubber sits behind the real boto3 client: each request we make must
equal the expected parameters and pass botocore's validation against the
service model (cloudfront 2020-05-31), and each answer queued here is
validated against the operation's output shape. A few tests go over real
HTTP to a loopback server instead, for what only the wire shows (retries of
throttled calls, timeouts, the XML error body).
"""

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.stub import Stubber

from domains.cdn import client
from domains.cdn.client import CdnError, CdnUnavailable, TenantConflict, TenantNotDisabled, TenantNotFound
from domains.cdn.states import CertificateStatus
from tests.domains.cdn.conftest import CONNECTION_GROUP_ID, DISTRIBUTION_ID

HOST = "gallery.client-domain.com"
TENANT_ID = "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"
NAME = "ve-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/8f7e6d5c-1111-2222-3333-444455556666"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def tenant_body(*, etag="E1", enabled=True, certificate_arn=None, **overrides) -> dict:
    tenant = {
        "Id": TENANT_ID,
        "DistributionId": DISTRIBUTION_ID,
        "Name": NAME,
        "Arn": f"arn:aws:cloudfront::123456789012:distribution-tenant/{TENANT_ID}",
        "Domains": [{"Domain": HOST, "Status": "active"}],
        "Parameters": [{"Name": "workspace_id", "Value": "ws_acme"}],
        "ConnectionGroupId": CONNECTION_GROUP_ID,
        "CreatedTime": NOW,
        "LastModifiedTime": NOW,
        "Enabled": enabled,
        "Status": "Deployed",
    }
    if certificate_arn:
        tenant["Customizations"] = {"Certificate": {"Arn": certificate_arn}}
    tenant.update(overrides)
    return {"DistributionTenant": tenant, "ETag": etag}


def a_tenant(**overrides) -> client.Tenant:
    return client.Tenant.from_response(tenant_body(**overrides))


def update_params(*, etag="E1", enabled=True, certificate_arn=None, request_certificate=False) -> dict:
    params = {
        "Id": TENANT_ID,
        "IfMatch": etag,
        "DistributionId": DISTRIBUTION_ID,
        "Domains": [{"Domain": HOST}],
        "Enabled": enabled,
        "ConnectionGroupId": CONNECTION_GROUP_ID,
        "Parameters": [{"Name": "workspace_id", "Value": "ws_acme"}],
    }
    if certificate_arn:
        params["Customizations"] = {"Certificate": {"Arn": certificate_arn}}
    if request_certificate:
        params["ManagedCertificateRequest"] = {"ValidationTokenHost": "cloudfront"}
    return params


@pytest.fixture
def stub(cloudfront_settings):
    with Stubber(client.get_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


class TestCreate:
    def test_a_tenant_is_created_for_one_hostname_in_our_distribution_and_connection_group(self, stub):
        stub.add_response(
            "create_distribution_tenant",
            tenant_body(),
            expected_params={
                "DistributionId": DISTRIBUTION_ID,
                "Name": NAME,
                "Domains": [{"Domain": HOST}],
                "Parameters": [{"Name": "workspace_id", "Value": "ws_acme"}],
                "ManagedCertificateRequest": {"ValidationTokenHost": "cloudfront"},
                "Enabled": True,
                "ConnectionGroupId": CONNECTION_GROUP_ID,
            },
        )

        tenant = client.create_tenant(name=NAME, hostname=HOST, workspace_id="ws_acme")

        assert (tenant.id, tenant.name, tenant.domains, tenant.enabled, tenant.etag) == (
            TENANT_ID,
            NAME,
            (HOST,),
            True,
            "E1",
        )
        assert tenant.parameters == {"workspace_id": "ws_acme"}
        assert tenant.connection_group_id == CONNECTION_GROUP_ID
        assert tenant.certificate_arn == ""

    @pytest.mark.parametrize("code", ["CNAMEAlreadyExists", "EntityAlreadyExists"])
    def test_a_hostname_or_name_another_tenant_has_is_a_conflict(self, stub, code):
        stub.add_client_error("create_distribution_tenant", code, "taken", http_status_code=409)

        with pytest.raises(TenantConflict) as raised:
            client.create_tenant(name=NAME, hostname=HOST, workspace_id="ws_acme")
        assert raised.value.code == code

    def test_a_name_cloudfront_would_refuse_is_refused_before_any_call(self, stub):
        with pytest.raises(ValueError, match="tenant name"):
            client.create_tenant(name="-bad_name-", hostname=HOST, workspace_id="ws_acme")

    def test_the_name_is_derived_from_the_domain_id(self):
        assert client.tenant_name("0a1b2c3d4e5f60718293a4b5c6d7e8f9") == NAME
        assert client.tenant_name("0a1b2c3d4e5f60718293a4b5c6d7e8f9", 3) == NAME + "-3"


class TestRead:
    def test_a_tenant_is_read_with_its_etag_and_attached_certificate(self, stub):
        stub.add_response(
            "get_distribution_tenant",
            tenant_body(etag="E7", certificate_arn=CERT_ARN),
            expected_params={"Identifier": TENANT_ID},
        )

        tenant = client.get_tenant(TENANT_ID)

        assert (tenant.etag, tenant.certificate_arn) == ("E7", CERT_ARN)

    def test_a_tenant_that_is_gone_is_none(self, stub):
        stub.add_client_error("get_distribution_tenant", "EntityNotFound", "no", http_status_code=404)

        assert client.get_tenant(TENANT_ID) is None

    def test_the_tenant_serving_a_hostname_is_found_by_domain(self, stub):
        stub.add_response("get_distribution_tenant_by_domain", tenant_body(), expected_params={"Domain": HOST})
        stub.add_client_error("get_distribution_tenant_by_domain", "EntityNotFound", "no", http_status_code=404)

        assert client.find_tenant(HOST).id == TENANT_ID
        assert client.find_tenant(HOST) is None

    def test_a_domain_entry_with_a_status_cloudfront_never_sends_is_refused(self, stub):
        body = tenant_body(Domains=[{"Domain": HOST, "Status": "sleeping"}])
        stub.add_response("get_distribution_tenant", body)

        with pytest.raises(CdnError, match="unexpected domain entry"):
            client.get_tenant(TENANT_ID)


class TestCertificate:
    @pytest.mark.parametrize("status", CertificateStatus.values)
    def test_each_status_cloudfront_defines_is_read(self, stub, status):
        stub.add_response(
            "get_managed_certificate_details",
            {
                "ManagedCertificateDetails": {
                    "CertificateArn": CERT_ARN,
                    "CertificateStatus": status,
                    "ValidationTokenHost": "cloudfront",
                    "ValidationTokenDetails": [{"Domain": HOST, "RedirectFrom": f"{HOST}/.well-known/x"}],
                }
            },
            expected_params={"Identifier": TENANT_ID},
        )

        certificate = client.get_certificate(TENANT_ID)

        assert (certificate.arn, certificate.status, certificate.validation_token_host) == (
            CERT_ARN,
            CertificateStatus(status),
            "cloudfront",
        )

    def test_the_model_knows_exactly_the_statuses_we_handle(self):
        shape = client.get_client().meta.service_model.shape_for("ManagedCertificateStatus")
        assert set(shape.enum) == set(CertificateStatus.values)

    def test_a_status_botocore_lets_through_but_we_do_not_know_is_refused(self, stub):
        # botocore checks no enum: this answer passes its validation, and must not pass ours.
        stub.add_response(
            "get_managed_certificate_details",
            {"ManagedCertificateDetails": {"CertificateArn": CERT_ARN, "CertificateStatus": "almost-issued"}},
        )

        with pytest.raises(CdnError, match="unknown managed certificate status"):
            client.get_certificate(TENANT_ID)

    def test_a_tenant_without_a_managed_certificate_has_none(self, stub):
        stub.add_client_error("get_managed_certificate_details", "EntityNotFound", "no", http_status_code=404)

        assert client.get_certificate(TENANT_ID) is None


class TestUpdate:
    def test_attaching_the_issued_certificate_sends_the_whole_tenant_with_its_etag(self, stub):
        stub.add_response(
            "update_distribution_tenant",
            tenant_body(etag="E2", certificate_arn=CERT_ARN),
            expected_params=update_params(certificate_arn=CERT_ARN),
        )

        updated = client.update_tenant(a_tenant(), certificate_arn=CERT_ARN)

        assert (updated.certificate_arn, updated.etag) == (CERT_ARN, "E2")

    def test_other_customizations_are_kept_when_the_certificate_is_attached(self, stub):
        geo = {"RestrictionType": "blacklist", "Locations": ["KP"]}
        tenant = a_tenant(Customizations={"GeoRestrictions": geo})
        params = update_params(certificate_arn=CERT_ARN)
        params["Customizations"] = {"GeoRestrictions": geo, "Certificate": {"Arn": CERT_ARN}}
        stub.add_response("update_distribution_tenant", tenant_body(etag="E2"), expected_params=params)

        client.update_tenant(tenant, certificate_arn=CERT_ARN)

    def test_disabling_keeps_the_attached_certificate(self, stub):
        stub.add_response(
            "update_distribution_tenant",
            tenant_body(etag="E2", enabled=False, certificate_arn=CERT_ARN),
            expected_params=update_params(enabled=False, certificate_arn=CERT_ARN),
        )

        assert client.update_tenant(a_tenant(certificate_arn=CERT_ARN), enabled=False).enabled is False

    def test_a_new_certificate_is_requested_through_an_update(self, stub):
        stub.add_response(
            "update_distribution_tenant",
            tenant_body(etag="E2"),
            expected_params=update_params(request_certificate=True),
        )

        client.update_tenant(a_tenant(), request_certificate=True)

    def test_an_etag_race_reads_the_tenant_again_and_retries_with_the_new_etag(self, stub):
        stub.add_client_error("update_distribution_tenant", "PreconditionFailed", "stale", http_status_code=412)
        stub.add_response("get_distribution_tenant", tenant_body(etag="E5"), expected_params={"Identifier": TENANT_ID})
        stub.add_response(
            "update_distribution_tenant",
            tenant_body(etag="E6", certificate_arn=CERT_ARN),
            expected_params=update_params(etag="E5", certificate_arn=CERT_ARN),
        )

        assert client.update_tenant(a_tenant(), certificate_arn=CERT_ARN).etag == "E6"

    def test_a_change_someone_else_already_made_is_not_sent_again(self, stub):
        stub.add_client_error("update_distribution_tenant", "PreconditionFailed", "stale", http_status_code=412)
        stub.add_response("get_distribution_tenant", tenant_body(etag="E5", enabled=False))

        assert client.update_tenant(a_tenant(), enabled=False).etag == "E5"

    def test_etag_races_that_never_end_give_up_after_a_few_tries(self, stub):
        for attempt in range(client.ETAG_RETRIES + 1):
            stub.add_client_error("update_distribution_tenant", "PreconditionFailed", "stale", http_status_code=412)
            if attempt < client.ETAG_RETRIES:
                stub.add_response("get_distribution_tenant", tenant_body(etag=f"E{attempt + 2}"))

        with pytest.raises(CdnError) as raised:
            client.update_tenant(a_tenant(), enabled=False)
        assert raised.value.code == "PreconditionFailed"


class TestDeleteAndInvalidate:
    def test_a_disabled_tenant_is_deleted_with_its_etag(self, stub):
        stub.add_response("delete_distribution_tenant", {}, expected_params={"Id": TENANT_ID, "IfMatch": "E3"})

        client.delete_tenant(a_tenant(etag="E3", enabled=False))

    def test_deleting_an_enabled_tenant_says_to_come_back_later(self, stub):
        stub.add_client_error("delete_distribution_tenant", "ResourceNotDisabled", "enabled", http_status_code=409)

        with pytest.raises(TenantNotDisabled):
            client.delete_tenant(a_tenant())

    def test_a_tenant_already_deleted_is_fine(self, stub):
        stub.add_client_error("delete_distribution_tenant", "EntityNotFound", "gone", http_status_code=404)

        client.delete_tenant(a_tenant(enabled=False))

    def test_an_etag_race_on_delete_reads_again(self, stub):
        stub.add_client_error("delete_distribution_tenant", "PreconditionFailed", "stale", http_status_code=412)
        stub.add_response("get_distribution_tenant", tenant_body(etag="E9", enabled=False))
        stub.add_response("delete_distribution_tenant", {}, expected_params={"Id": TENANT_ID, "IfMatch": "E9"})

        client.delete_tenant(a_tenant(enabled=False))

    def test_the_whole_cache_of_the_tenant_is_invalidated_under_our_reference(self, stub):
        batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "ve-x-r2"}
        stub.add_response(
            "create_invalidation_for_distribution_tenant",
            {
                "Location": "https://cloudfront.amazonaws.com/2020-05-31/distribution-tenant/x/invalidation/I1",
                "Invalidation": {"Id": "I1", "Status": "InProgress", "CreateTime": NOW, "InvalidationBatch": batch},
            },
            expected_params={"Id": TENANT_ID, "InvalidationBatch": batch},
        )

        assert client.invalidate_tenant(TENANT_ID, reference="ve-x-r2") == "I1"


class TestErrors:
    @pytest.mark.parametrize(
        ("code", "status"),
        [("Throttling", 400), ("TooManyInvalidationsInProgress", 400), ("ServiceUnavailable", 503), ("Oops", 500)],
    )
    def test_throttling_and_outages_are_transient(self, stub, code, status):
        stub.add_client_error("get_distribution_tenant", code, "later", http_status_code=status)

        with pytest.raises(CdnUnavailable):
            client.get_tenant(TENANT_ID)

    @pytest.mark.parametrize("code", ["AccessDenied", "InvalidArgument", "EntityLimitExceeded"])
    def test_refusals_are_permanent_and_say_their_code(self, stub, code):
        stub.add_client_error("create_distribution_tenant", code, "no", http_status_code=400)

        with pytest.raises(CdnError) as raised:
            client.create_tenant(name=NAME, hostname=HOST, workspace_id="ws_acme")
        assert not isinstance(raised.value, CdnUnavailable)
        assert raised.value.code == code

    def test_not_found_is_its_own_kind(self, stub):
        stub.add_client_error("update_distribution_tenant", "EntityNotFound", "gone", http_status_code=404)

        with pytest.raises(TenantNotFound):
            client.update_tenant(a_tenant(), enabled=False)


# --- Over real HTTP ---------------------------------------------------------------------


def error_body(code: str, message: str) -> bytes:
    """An error as CloudFront's REST-XML protocol sends it."""
    return (
        '<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>r1</RequestId></ErrorResponse>"
    ).encode()


THROTTLED = error_body("Throttling", "Rate exceeded")


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def cloudfront_endpoint(cloudfront_settings):
    """A loopback server that answers each request from a script: (status, body) or "hang"."""
    script: list = []
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            answer = script.pop(0) if script else (500, b"")
            if answer == "hang":
                threading.Event().wait(3)
                return
            status, body = answer
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cloudfront_settings.CLOUDFRONT_ENDPOINT_URL = f"http://127.0.0.1:{server.server_address[1]}"
    client.reset_client()
    yield script, seen
    server.shutdown()
    server.server_close()


def test_a_throttled_call_is_retried_within_the_bounded_attempts(cloudfront_endpoint, settings, monkeypatch):
    script, seen = cloudfront_endpoint
    settings.CLOUDFRONT_MAX_ATTEMPTS = 3
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    script.extend([(400, THROTTLED), (400, THROTTLED), (404, error_body("EntityNotFound", "no such tenant"))])

    # Throttled twice, then an answer: botocore's standard retries carry it (a 404 here: no such tenant).
    assert client.get_tenant(TENANT_ID) is None
    assert len(seen) == 3


def test_throttling_beyond_the_attempts_is_transient(cloudfront_endpoint, settings, monkeypatch):
    script, seen = cloudfront_endpoint
    settings.CLOUDFRONT_MAX_ATTEMPTS = 2
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    script.extend([(400, THROTTLED)] * 3)

    with pytest.raises(CdnUnavailable, match="Throttling"):
        client.get_tenant(TENANT_ID)
    assert len(seen) == 2


def test_a_cloudfront_that_does_not_answer_is_given_up_on_after_the_read_timeout(cloudfront_endpoint, settings):
    script, _ = cloudfront_endpoint
    settings.CLOUDFRONT_READ_TIMEOUT = 0.3
    script.append("hang")

    with pytest.raises(CdnUnavailable, match="timeout"):
        client.get_tenant(TENANT_ID)


def test_a_cloudfront_that_is_down_is_transient(cloudfront_settings):
    with pytest.raises(CdnUnavailable):
        client.find_tenant(HOST)
