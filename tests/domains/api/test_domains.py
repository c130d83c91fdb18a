"""The domains API as the cast uses it: alice's owner key, bob's member session, charlie and strangers."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domains.models import Domain, DomainCheck, DomainEvent, DomainStatus, EdgeOutbox
from tests.domains.api.conftest import error_of
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

URL = "/api/v1/domains/"


def detail_url(domain) -> str:
    return f"{URL}{domain.pk}/"


class TestList:
    def test_alice_lists_only_her_workspaces_domains(self, as_alice, acme, charlie_studio):
        mine = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
        DomainFactory(workspace=charlie_studio, hostname="photos.charlie-domain.com")
        response = as_alice.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert [d["id"] for d in body["results"]] == [str(mine.pk)]
        item = body["results"][0]
        assert item["status"] == "pending"
        assert item["records"] == [
            {
                "type": "CNAME",
                "name": "gallery.client-domain.com",
                "relative_name": "gallery",
                "zone": "client-domain.com",
                "value": mine.target,
                "purpose": item["records"][0]["purpose"],
            }
        ]
        assert "edge_state" in item and "next_check_at" in item

    def test_it_filters_by_status_and_searches_hostnames(self, as_alice, acme):
        DomainFactory(workspace=acme, hostname="a.client-domain.com", status=DomainStatus.ACTIVE)
        DomainFactory(workspace=acme, hostname="b.client-domain.com", status=DomainStatus.FAILED)
        DomainFactory(workspace=acme, hostname="shop.other-client.com", status=DomainStatus.ACTIVE)

        def hosts(r):
            return sorted(d["hostname"] for d in r.json()["results"])

        assert hosts(as_alice.get(URL, {"status": "active"})) == ["a.client-domain.com", "shop.other-client.com"]
        assert hosts(as_alice.get(URL, {"search": "CLIENT-DOMAIN"})) == ["a.client-domain.com", "b.client-domain.com"]
        assert hosts(as_alice.get(URL, {"status": "active", "search": "shop"})) == ["shop.other-client.com"]

    def test_an_unknown_status_is_a_field_error(self, as_alice):
        response = as_alice.get(URL, {"status": "sleeping"})
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid" and list(error["fields"]) == ["status"]

    def test_it_pages_with_a_cursor_newest_first(self, as_alice, acme):
        created = [DomainFactory(workspace=acme) for _ in range(5)]
        first = as_alice.get(URL, {"page_size": 2}).json()
        assert len(first["results"]) == 2 and first["previous"] is None and first["next"]
        second = as_alice.get(first["next"]).json()
        third = as_alice.get(second["next"]).json()
        seen = [d["id"] for page in (first, second, third) for d in page["results"]]
        assert seen == [str(d.pk) for d in reversed(created)]
        assert third["next"] is None

    def test_the_list_runs_the_same_queries_whatever_the_page_size(self, as_alice, acme):
        for i in range(12):
            domain = DomainFactory(workspace=acme, hostname=f"g{i}.client-domain.com", status=DomainStatus.ACTIVE)
            DomainCheck.objects.create(domain=domain, outcome="verified")
            EdgeOutbox.objects.create(
                hostname=domain.hostname, workspace_public_id=acme.public_id, version=1, state="serve"
            )
        as_alice.get(URL)  # warm up: the key's last_used_at is written at most once a minute

        def count(page_size: int) -> int:
            with CaptureQueriesContext(connection) as queries:
                response = as_alice.get(URL, {"page_size": page_size})
            assert response.status_code == 200 and len(response.json()["results"]) == page_size
            return len(queries)

        small, large = count(2), count(12)
        assert small == large
        assert large <= 5

    def test_the_history_lists_run_the_same_queries_whatever_the_page_size(self, as_alice, acme, alice):
        domain = DomainFactory(workspace=acme)
        for i in range(12):
            DomainEvent.objects.create(
                domain=domain,
                workspace=acme,
                hostname=domain.hostname,
                actor_kind="user",
                actor_user=alice,
                reason=str(i),
            )
            DomainCheck.objects.create(domain=domain, outcome="missing")
        as_alice.get(URL)
        for path in ("events", "checks"):
            counts = []
            for page_size in (2, 12):
                with CaptureQueriesContext(connection) as queries:
                    response = as_alice.get(f"{detail_url(domain)}{path}/", {"page_size": page_size})
                assert len(response.json()["results"]) == page_size
                counts.append(len(queries))
            assert counts[0] == counts[1], path


class TestCreate:
    def test_alice_adds_a_domain_and_gets_the_records_to_publish(self, as_alice, acme, alice):
        response = as_alice.post(URL, {"hostname": "Gallery.Client-Domain.com"}, format="json")
        assert response.status_code == 201
        body = response.json()
        domain = Domain.objects.get(pk=body["id"])
        assert (domain.workspace, domain.created_by) == (acme, alice)
        assert body["hostname"] == "gallery.client-domain.com" and body["status"] == "pending"
        assert body["records"][0]["type"] == "CNAME" and body["records"][0]["value"] == domain.target
        assert body["last_check"] is None

    def test_an_apex_gets_its_txt_token_record(self, as_alice, settings):
        settings.EDGE_APEX_ADDRESSES = ["192.0.2.44"]
        body = as_alice.post(URL, {"hostname": "client-domain.com"}, format="json").json()
        assert body["is_apex"]
        txt = [r for r in body["records"] if r["type"] == "TXT"]
        assert txt and txt[0]["name"] == "_ve-verify.client-domain.com"
        assert [r["value"] for r in body["records"] if r["type"] == "A"] == ["192.0.2.44"]

    def test_an_apex_is_refused_where_the_edge_has_no_addresses_for_it(self, as_alice, settings):
        settings.EDGE_APEX_ADDRESSES = []
        response = as_alice.post(URL, {"hostname": "client-domain.com"}, format="json")
        assert response.status_code == 400
        assert "Root domains like client-domain.com can't be connected here yet" in response.content.decode()

    @pytest.mark.parametrize(
        "hostname, fragment",
        [("localhost", ""), ("co.uk", ""), ("gallery.ve.ai", ""), ("not a hostname", ""), ("", "blank")],
    )
    def test_an_invalid_hostname_is_a_field_error_with_the_rules_message(self, as_alice, hostname, fragment):
        response = as_alice.post(URL, {"hostname": hostname}, format="json")
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid"
        assert list(error["fields"]) == ["hostname"]
        assert error["fields"]["hostname"][0] and fragment in error["fields"]["hostname"][0]

    def test_a_missing_body_field_is_a_field_error(self, as_alice):
        error = error_of(as_alice.post(URL, {}, format="json"))
        assert error["fields"] == {"hostname": ["This field is required."]}

    def test_malformed_json_is_a_400_in_the_same_shape(self, as_alice):
        response = as_alice.post(URL, "{not json", content_type="application/json")
        assert response.status_code == 400 and error_of(response)["code"] == "parse_error"

    def test_a_hostname_another_workspace_proved_is_a_conflict_that_names_no_one(self, as_alice, charlie_studio):
        DomainFactory(workspace=charlie_studio, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        response = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json")
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "hostname_taken"
        assert "Charlie" not in error["message"]

    def test_another_workspaces_unproven_claim_is_no_conflict(self, as_alice, acme, charlie_studio):
        DomainFactory(workspace=charlie_studio, hostname="gallery.client-domain.com")
        response = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json")
        assert response.status_code == 201
        assert Domain.objects.filter(hostname="gallery.client-domain.com").count() == 2

    def test_a_hostname_support_blocked_is_a_conflict_that_says_so(self, as_alice, acme, alice, support):
        from domains import services

        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")
        assert as_alice.delete(detail_url(domain)).status_code == 204

        response = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json")

        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "hostname_blocked"
        assert "blocked by VE.AI support" in error["message"] and "phishing" not in error["message"]

    def test_a_suspensions_internal_note_never_reaches_the_tenant(self, as_alice, acme, support):
        from domains import services

        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        services.domain_suspend(staff_user=support, domain=domain, reason="chargeback dispute")
        events = as_alice.get(f"{detail_url(domain)}events/")
        assert events.status_code == 200
        assert "Suspended by VE.AI support." in events.content.decode()
        assert "chargeback" not in events.content.decode() + as_alice.get(detail_url(domain)).content.decode()

    def test_the_workspace_limit_is_a_conflict(self, as_alice, acme, settings):
        settings.MAX_DOMAINS_PER_WORKSPACE = 1
        DomainFactory(workspace=acme)
        response = as_alice.post(URL, {"hostname": "new.client-domain.com"}, format="json")
        assert response.status_code == 409 and error_of(response)["code"] == "workspace_limit_reached"


class TestIdempotency:
    def test_a_repeat_with_the_same_key_and_body_returns_the_first_response(self, as_alice):
        headers = {"Idempotency-Key": "create-gallery-1"}
        first = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json", headers=headers)
        again = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json", headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert Domain.objects.count() == 1

    def test_the_same_key_with_another_body_is_refused(self, as_alice):
        headers = {"Idempotency-Key": "k1"}
        as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json", headers=headers)
        response = as_alice.post(URL, {"hostname": "other.client-domain.com"}, format="json", headers=headers)
        assert response.status_code == 422
        assert error_of(response)["code"] == "idempotency_key_reused"
        assert not Domain.objects.filter(hostname="other.client-domain.com").exists()

    def test_without_the_key_a_repeat_is_a_conflict(self, as_alice):
        as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json")
        response = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json")
        assert response.status_code == 409

    def test_a_key_expires_after_a_day(self, as_alice, time_machine):
        headers = {"Idempotency-Key": "k1"}
        time_machine.move_to("2030-01-01 12:00Z", tick=False)
        first = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json", headers=headers)
        Domain.objects.filter(pk=first.json()["id"]).delete()
        time_machine.move_to("2030-01-02 12:01Z", tick=False)
        again = as_alice.post(URL, {"hostname": "gallery.client-domain.com"}, format="json", headers=headers)
        assert again.status_code == 201 and again.json()["id"] != first.json()["id"]

    def test_keys_are_per_workspace(self, as_alice, as_charlie):
        headers = {"Idempotency-Key": "same"}
        as_alice.post(URL, {"hostname": "a.client-domain.com"}, format="json", headers=headers)
        response = as_charlie.post(URL, {"hostname": "b.client-domain.com"}, format="json", headers=headers)
        assert response.status_code == 201 and response.json()["hostname"] == "b.client-domain.com"


class TestDetailAndWrites:
    def test_the_detail_has_status_records_last_check_next_check_and_timestamps(self, as_alice, acme):
        domain = DomainFactory(workspace=acme)
        DomainCheck.objects.create(domain=domain, outcome="missing", message="No CNAME", found=[{"name": "x"}])
        body = as_alice.get(detail_url(domain)).json()
        assert body["last_check"]["outcome"] == "missing" and body["last_check"]["message"] == "No CNAME"
        for field in ("status", "records", "next_check_at", "edge_state", "created_at", "updated_at"):
            assert field in body
        assert body["edge_state"] == "not_served"

    def test_charlie_gets_404_for_every_acme_domain_endpoint(self, as_charlie, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        url = detail_url(domain)
        for method, path in [
            ("get", ""),
            ("delete", ""),
            ("post", "check/"),
            ("post", "retry/"),
            ("get", "events/"),
            ("get", "checks/"),
        ]:
            response = getattr(as_charlie, method)(url + path)
            assert response.status_code == 404, (method, path)
            assert error_of(response)["code"] == "not_found"
        assert Domain.objects.get(pk=domain.pk).status == DomainStatus.FAILED

    def test_an_unknown_or_malformed_id_is_404(self, as_alice):
        assert as_alice.get(f"{URL}{uuid.uuid4()}/").status_code == 404
        assert error_of(as_alice.get(f"{URL}not-a-uuid/"))["code"] == "not_found"

    def test_alice_deletes_a_domain(self, as_alice, acme):
        domain = DomainFactory(workspace=acme)
        assert as_alice.delete(detail_url(domain)).status_code == 204
        assert not Domain.objects.filter(pk=domain.pk).exists()
        assert DomainEvent.objects.filter(hostname=domain.hostname, to_status="").exists()

    def test_alice_retries_a_failed_domain(self, as_alice, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        response = as_alice.post(f"{detail_url(domain)}retry/")
        assert response.status_code == 200 and response.json()["status"] == "pending"

    def test_retrying_a_claim_another_workspace_proved_meanwhile_is_a_conflict(self, as_alice, acme, charlie_studio):
        lost = DomainFactory(workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.FAILED)
        DomainFactory(workspace=charlie_studio, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        response = as_alice.post(f"{detail_url(lost)}retry/")
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "hostname_taken" and "Charlie" not in error["message"]

    def test_retrying_a_pending_domain_is_a_conflict(self, as_alice, acme):
        domain = DomainFactory(workspace=acme)
        response = as_alice.post(f"{detail_url(domain)}retry/")
        assert response.status_code == 409 and error_of(response)["code"] == "invalid_transition"

    def test_check_now_is_queued_answered_202_with_the_domain_then_rate_limited(
        self, as_alice, acme, devdns, eager_celery, django_capture_on_commit_callbacks
    ):
        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
        devdns.add("gallery.client-domain.com", "CNAME", domain.target)
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = as_alice.post(f"{detail_url(domain)}check/")
        assert response.status_code == 202
        assert response.json()["id"] == str(domain.pk) and response.json()["last_check"] is None
        assert not DomainCheck.objects.filter(domain=domain).exists()  # nothing asked inside the request

        for task in queued:  # a worker runs the queued check
            task()
        body = as_alice.get(detail_url(domain)).json()
        assert body["status"] == "active"
        assert body["last_check"]["outcome"] == "verified" and body["last_check"]["manual"] is True
        again = as_alice.post(f"{detail_url(domain)}check/")
        assert again.status_code == 429
        error = error_of(again)
        assert error["code"] == "rate_limited" and error["retry_after"] >= 1
        assert int(again.headers["Retry-After"]) == error["retry_after"]
        assert error["message"] == f"This domain was checked a moment ago; try again in {error['retry_after']} s."

    def test_events_and_checks_are_newest_first(self, as_alice, acme, alice):
        domain = DomainFactory(workspace=acme)
        for reason in ("first", "second"):
            DomainEvent.objects.create(
                domain=domain,
                workspace=acme,
                hostname=domain.hostname,
                actor_kind="user",
                actor_user=alice,
                reason=reason,
            )
        events = as_alice.get(f"{detail_url(domain)}events/").json()["results"]
        assert [e["reason"] for e in events] == ["second", "first"]
        assert events[0]["actor"] == "user" and events[0]["actor_username"] == "alice"
        DomainCheck.objects.create(domain=domain, outcome="missing")
        DomainCheck.objects.create(domain=domain, outcome="verified")
        checks = as_alice.get(f"{detail_url(domain)}checks/").json()["results"]
        assert [c["outcome"] for c in checks] == ["verified", "missing"]


class TestWhoMay:
    def test_bob_reads_with_his_session(self, as_bob, acme):
        domain = DomainFactory(workspace=acme)
        assert as_bob.get(URL).status_code == 200
        assert as_bob.get(detail_url(domain)).status_code == 200
        assert as_bob.get(f"{detail_url(domain)}events/").status_code == 200

    def test_bobs_writes_are_refused_with_403(self, as_bob, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        as_bob.get("/api/docs/")  # sets the CSRF cookie: the refusal below is about the role, not CSRF
        csrf = {"X-CSRFToken": as_bob.cookies["csrftoken"].value}
        for method, url, data in [
            ("post", URL, {"hostname": "new.client-domain.com"}),
            ("delete", detail_url(domain), None),
            ("post", f"{detail_url(domain)}retry/", None),
            ("post", f"{detail_url(domain)}check/", None),
        ]:
            response = getattr(as_bob, method)(url, data, format="json", headers=csrf)
            assert response.status_code == 403, (method, url)
            error = error_of(response)
            assert error["code"] == "permission_denied" and "owners and admins" in error["message"]
        assert Domain.objects.get(pk=domain.pk).status == DomainStatus.FAILED
        assert not Domain.objects.filter(hostname="new.client-domain.com").exists()

    def test_a_session_write_without_csrf_is_refused(self, alice):
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=True)
        client.force_login(alice)
        response = client.post(URL, {"hostname": "new.client-domain.com"}, format="json")
        assert response.status_code == 403 and "CSRF" in error_of(response)["message"]

    def test_a_session_owner_writes_with_the_csrf_token(self, alice):
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=True)
        client.force_login(alice)
        client.get("/api/docs/")  # any page that sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(
            URL, {"hostname": "new.client-domain.com"}, format="json", headers={"X-CSRFToken": token}
        )
        assert response.status_code == 201

    def test_a_session_user_picks_the_workspace_by_its_public_id(self, charlie, acme, charlie_studio):
        from rest_framework.test import APIClient

        from tests.factories import MembershipFactory

        MembershipFactory(user=charlie, workspace=acme, role="member")
        acme_domain = DomainFactory(workspace=acme)
        DomainFactory(workspace=charlie_studio)
        client = APIClient()
        client.force_login(charlie)

        def ids(r):
            return [d["id"] for d in r.json()["results"]]

        assert ids(client.get(URL, {"workspace": acme.public_id})) == [str(acme_domain.pk)]
        assert ids(client.get(URL, headers={"X-Workspace": acme.public_id})) == [str(acme_domain.pk)]
        assert client.get(URL, {"workspace": "ws_nope"}).status_code == 404

    def test_a_key_works_only_in_its_own_workspace(self, as_alice, charlie_studio):
        response = as_alice.get(URL, {"workspace": charlie_studio.public_id})
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"

    def test_no_credentials_is_401(self, anonymous, acme):
        domain = DomainFactory(workspace=acme)
        for url in (URL, detail_url(domain), f"{detail_url(domain)}events/"):
            response = anonymous.get(url)
            assert response.status_code == 401
            assert error_of(response)["code"] == "not_authenticated"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("header", ["Bearer vek_nope_nope", "Bearer", "Bearer a b", "Bearer not-a-key"])
    def test_a_bad_key_is_401(self, anonymous, header):
        response = anonymous.get(URL, headers={"Authorization": header})
        assert response.status_code == 401 and error_of(response)["code"] == "authentication_failed"

    def test_a_key_acts_with_its_creators_current_role(self, as_alice, alice, acme):
        from workspaces.models import Membership

        Membership.objects.filter(user=alice, workspace=acme).update(role="member")
        assert as_alice.get(URL).status_code == 200
        assert as_alice.post(URL, {"hostname": "new.client-domain.com"}, format="json").status_code == 403
        Membership.objects.filter(user=alice, workspace=acme).delete()
        assert as_alice.get(URL).status_code == 401


class TestThrottling:
    def test_each_key_has_its_own_bucket_and_429_says_when_to_retry(self, as_alice, as_charlie, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api": "2/min", "api_writes": "1/min"},
        }
        assert as_alice.get(URL).status_code == 200
        assert as_alice.get(URL).status_code == 200
        response = as_alice.get(URL)
        assert response.status_code == 429
        error = error_of(response)
        assert error["code"] == "rate_limited" and 0 < error["retry_after"] <= 60
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert error["message"] == f"Too many requests; try again in {error['retry_after']} s."
        assert as_charlie.get(URL).status_code == 200

    def test_writes_have_a_tighter_bucket(self, as_alice, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api": "100/min", "api_writes": "1/min"},
        }
        assert as_alice.post(URL, {"hostname": "a.client-domain.com"}, format="json").status_code == 201
        assert as_alice.post(URL, {"hostname": "b.client-domain.com"}, format="json").status_code == 429
        assert as_alice.get(URL).status_code == 200
