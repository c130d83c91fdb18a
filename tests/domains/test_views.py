"""The tenant web UI through Django's test client: roles, scoping, CSRF, forms and the DNS instructions."""

import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from domains import enqueue, services
from domains.errors import CheckRateLimited
from domains.models import CheckOutcome, Domain, DomainCheck, DomainStatus
from domains.services.lifecycle import OTHER_PROVED_MESSAGE
from tests.factories import DomainFactory, MembershipFactory, WorkspaceFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db


def detail_url(domain):
    return reverse("domains:detail", kwargs={"domain_id": domain.pk})


def action_url(name, domain):
    return reverse(f"domains:{name}", kwargs={"domain_id": domain.pk})


def signed_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def gallery(acme, alice):
    return services.domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")


@pytest.fixture
def apex(acme, alice, settings):
    settings.EDGE_APEX_ADDRESSES = ["192.0.2.44", "2001:db8::44"]
    return services.domain_create(user=alice, workspace=acme, hostname="client-domain.com")


def html(response):
    return response.content.decode()


def text(response):
    """The page's visible words, whitespace collapsed, for sentence assertions."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html(response), flags=re.DOTALL)
    body = re.sub(r'<span class="label">([^<]*)</span>|<wbr>', r"\1", body)  # a |breakable hostname reads as one word
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


# --- Signing in ------------------------------------------------------------------


class TestSignIn:
    def test_an_anonymous_visitor_is_sent_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_alice_signs_in_with_her_password_and_sees_her_domains(self, alice):
        client = Client(enforce_csrf_checks=True)
        page = client.get(reverse("login"))
        assert 'autocomplete="current-password"' in html(page)
        token = page.cookies["csrftoken"].value
        response = client.post(
            reverse("login"),
            {
                "username": "alice",
                "password": "correct-horse-battery",
                "csrfmiddlewaretoken": token,
            },
            follow=True,
        )
        assert "Acme Photo" in text(response)
        assert "Sign out" in text(response)

    def test_a_wrong_password_is_reported_on_the_form(self, alice, client):
        response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
        assert response.status_code == 200
        assert 'role="alert"' in html(response)
        assert "correct username and password" in text(response)

    def test_sign_out_is_a_csrf_protected_post(self, alice):
        client = signed_in(alice, enforce_csrf_checks=True)
        assert client.post(reverse("logout")).status_code == 403
        page = client.get("/")
        token = page.cookies["csrftoken"].value
        response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert client.get("/").status_code == 302  # signed out


# --- The list and the workspace switcher ----------------------------------------


class TestDomainList:
    def test_an_empty_workspace_explains_custom_domains(self, alice):
        response = signed_in(alice).get("/")
        assert "Show your galleries on your own domain" in text(response)
        assert reverse("domains:add") in html(response)

    def test_domains_show_their_unicode_name_status_and_last_check(self, alice, acme):
        DomainFactory(
            workspace=acme,
            hostname="fotos.xn--bcher-kva.de",
            status=DomainStatus.ACTIVE,
            last_checked_at=timezone.now() - timedelta(minutes=3),
        )
        response = signed_in(alice).get("/")
        page = text(response)
        assert "fotos.bücher.de" in page
        assert "Active" in page
        assert "3 minutes ago" in page

    def test_each_row_says_the_last_checks_summary_and_the_next_check(self, alice, gallery):
        DomainCheck.objects.create(domain=gallery, outcome=CheckOutcome.MISSING, message="not found")
        Domain.objects.filter(pk=gallery.pk).update(
            last_checked_at=timezone.now(), next_check_at=timezone.now() + timedelta(minutes=4, seconds=50)
        )
        row = text(signed_in(alice).get("/")).split("gallery.client-domain.com", 1)[1]
        assert "The record was not found." in row
        assert "Next automatic check in 5 minutes." in row

    def test_the_list_sorts_by_the_unicode_name(self, alice, acme):
        for hostname in ("zeta.client-domain.com", "fotos.xn--bcher-kva.de", "alpha.client-domain.com"):
            DomainFactory(workspace=acme, hostname=hostname)
        page = text(signed_in(alice).get("/"))
        positions = [page.index(name) for name in ("alpha.client", "fotos.bücher.de", "zeta.client")]
        assert positions == sorted(positions)

    def test_members_are_told_they_can_view_and_who_makes_changes(self, bob, alice, acme, gallery):
        notice = "You can view this workspace&#x27;s domains; owners and admins make changes."
        assert notice in text(signed_in(bob).get("/"))
        assert notice in text(signed_in(bob).get(detail_url(gallery)))
        assert notice not in text(signed_in(alice).get("/"))

    def test_members_see_the_list_without_the_add_button(self, bob, acme):
        DomainFactory(workspace=acme)
        response = signed_in(bob).get("/")
        assert reverse("domains:add") not in html(response)

    def test_the_list_shows_only_the_current_workspace(self, charlie, gallery):
        response = signed_in(charlie).get("/")
        assert "gallery.client-domain.com" not in text(response)

    def test_a_person_in_several_workspaces_switches_between_them(self, alice, acme, gallery):
        studio = WorkspaceFactory(name="Zeta Studio")
        MembershipFactory(user=alice, workspace=studio, role=Role.OWNER)
        DomainFactory(workspace=studio, hostname="photos.zeta-studio.com")
        client = signed_in(alice, enforce_csrf_checks=True)
        first = client.get("/")
        assert "gallery.client-domain.com" in text(first)  # the first workspace by name is the default
        assert 'id="workspace-select"' in html(first)
        token = first.cookies["csrftoken"].value
        switched = client.post(
            reverse("workspaces:switch"),
            {"workspace": studio.pk, "csrfmiddlewaretoken": token},
            follow=True,
        )
        assert "photos.zeta-studio.com" in text(switched)
        assert "gallery.client-domain.com" not in text(switched)
        assert "photos.zeta-studio.com" in text(client.get("/"))  # kept in the session

    def test_nobody_switches_into_a_workspace_they_are_not_in(self, charlie, acme):
        response = signed_in(charlie).post(reverse("workspaces:switch"), {"workspace": acme.pk})
        assert response.status_code == 404

    def test_a_person_in_one_workspace_sees_its_name_without_a_switcher(self, alice):
        page = html(signed_in(alice).get("/"))
        assert "Acme Photo" in page
        assert 'id="workspace-select"' not in page


# --- Adding ------------------------------------------------------------------------


class TestAddDomain:
    def test_an_owner_adds_a_domain_and_lands_on_its_page(self, alice, acme):
        response = signed_in(alice).post(
            reverse("domains:add"),
            {"hostname": "https://Gallery.Client-Domain.com/albums"},
        )
        domain = Domain.objects.get(workspace=acme)
        assert domain.hostname == "gallery.client-domain.com"
        assert response.status_code == 302
        assert response["Location"] == detail_url(domain)

    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            ("", "Enter a hostname, like gallery.example.com."),
            ("gallery_photos.client-domain.com", "Underscores (“_”) aren't allowed"),
            ("gallery.client-domain.com:8080", "Remove the port"),
            ("192.0.2.10", "IP addresses can't be connected"),
            ("co.uk", "is a public suffix"),
            ("gallery.client-domain.con", "is not a top-level domain"),
            ("studio.ve.ai", "belongs to VE.AI itself"),
            ("*.client-domain.com", "Wildcard domains"),
        ],
    )
    def test_every_hostname_rule_is_shown_inline(self, alice, acme, typed, message):
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": typed})
        assert response.status_code == 400
        page = html(response)
        assert 'aria-invalid="true"' in page
        error = re.search(
            r'<p class="field-error" id="id_hostname-error" role="alert">(.*?)</p>',
            page,
            re.DOTALL,
        )
        assert error and message in error.group(1).replace("&#x27;", "'")
        assert not Domain.objects.exists()

    def test_what_was_typed_stays_in_the_field(self, alice):
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "bad_name.client-domain.com"})
        assert 'value="bad_name.client-domain.com"' in html(response)

    def test_a_hostname_another_workspace_proved_is_taken(self, alice, charlie, charlie_studio):
        DomainFactory(workspace=charlie_studio, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"})
        assert response.status_code == 400
        assert "already connected to another workspace" in text(response)
        assert "Charlie" not in text(response)

    def test_charlies_unproven_claim_does_not_stop_alice_adding_the_hostname(self, alice, acme, charlie_studio):
        DomainFactory(workspace=charlie_studio, hostname="gallery.client-domain.com")
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"})
        assert response.status_code == 302
        assert Domain.objects.get(workspace=acme).hostname == "gallery.client-domain.com"

    def test_a_hostname_support_blocked_is_refused_on_the_form_with_why(self, alice, gallery, support):
        services.domain_suspend(staff_user=support, domain=gallery, reason="phishing report")
        services.domain_delete(user=alice, domain=Domain.objects.get(pk=gallery.pk))
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"})
        assert response.status_code == 400
        assert "blocked by VE.AI support" in text(response) and "Contact support" in text(response)
        assert not Domain.objects.exists()

    def test_the_workspace_limit_is_shown_inline(self, alice, acme, settings):
        settings.MAX_DOMAINS_PER_WORKSPACE = 1
        DomainFactory(workspace=acme)
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"})
        assert response.status_code == 400
        assert "the most it can have" in text(response)

    def test_a_member_cannot_open_or_post_the_add_form(self, bob, acme):
        client = signed_in(bob)
        assert client.get(reverse("domains:add")).status_code == 403
        refused = client.post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"})
        assert refused.status_code == 403
        assert "owners and admins" in text(refused)
        assert not Domain.objects.exists()

    def test_the_add_form_needs_a_csrf_token(self, alice, acme):
        client = signed_in(alice, enforce_csrf_checks=True)
        assert client.post(reverse("domains:add"), {"hostname": "gallery.client-domain.com"}).status_code == 403
        token = client.get(reverse("domains:add")).cookies["csrftoken"].value
        ok = client.post(
            reverse("domains:add"),
            {"hostname": "gallery.client-domain.com", "csrfmiddlewaretoken": token},
        )
        assert ok.status_code == 302
        assert Domain.objects.filter(workspace=acme).count() == 1


# --- The DNS instructions ---------------------------------------------------------


class TestInstructions:
    def test_a_subdomain_gets_one_cname_to_its_unique_target(self, alice, gallery):
        response = signed_in(alice).get(detail_url(gallery))
        page = text(response)
        rows = re.findall(
            r"<tr>.*?</tr>",
            html(response).split("<tbody>", 1)[1].split("</tbody>", 1)[0],
            re.DOTALL,
        )
        assert len(rows) == 1
        row = rows[0]
        assert ">CNAME<" in row
        assert f'data-copy="{gallery.target}"' in row
        assert 'data-copy="gallery"' in row  # the relative label providers ask for
        assert 'data-copy="gallery.client-domain.com"' in row  # and the full name
        assert gallery.target.startswith(gallery.token + ".")
        assert "TXT" not in row
        assert "most DNS providers ask only for the part before your domain ( gallery in client-domain.com )" in page
        assert "where you manage DNS for client-domain.com" in page

    def test_an_apex_gets_the_txt_token_and_the_edge_addresses(self, alice, apex, settings):
        settings.EDGE_APEX_ADDRESSES = ["192.0.2.44", "2001:db8::44"]
        response = signed_in(alice).get(detail_url(apex))
        body = html(response).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows = re.findall(r"<tr>.*?</tr>", body, re.DOTALL)
        assert [re.search(r'class="rtype">(\w+)<', row).group(1) for row in rows] == [
            "TXT",
            "A",
            "AAAA",
        ]
        txt, a, aaaa = rows
        assert 'data-copy="_ve-verify.client-domain.com"' in txt and 'data-copy="_ve-verify"' in txt
        assert f'data-copy="{apex.token}"' in txt
        assert 'data-copy="192.0.2.44"' in a and 'data-copy="@"' in a
        assert 'data-copy="2001:db8::44"' in aaaa
        assert "CNAME" not in body
        assert "can't use a CNAME record" in text(response)

    def test_an_apex_is_refused_on_the_form_where_the_edge_has_no_addresses(self, alice, acme, settings):
        settings.EDGE_APEX_ADDRESSES = []
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "client-domain.com"})
        assert response.status_code == 400
        assert "Root domains like client-domain.com can" in text(response) and "www.client-domain.com" in text(response)
        assert not Domain.objects.exists()

    def test_an_apex_page_lists_every_record_with_its_purpose_and_no_operator_note(self, alice, apex):
        page = text(signed_in(alice).get(detail_url(apex)))
        assert "Proves the domain is yours." in page and "Sends visitors to VE.AI." in page
        assert "not configured on this server" not in page
        body = html(signed_in(alice).get(detail_url(apex)))
        assert 'aria-label="Copy value 192.0.2.44"' in body and 'aria-label="Copy value 2001:db8::44"' in body

    def test_a_unicode_domain_shows_both_forms(self, alice, acme):
        domain = services.domain_create(user=alice, workspace=acme, hostname="fotos.bücher.de")
        page = text(signed_in(alice).get(detail_url(domain)))
        assert "fotos.bücher.de" in page
        assert "In DNS: fotos.xn--bcher-kva.de" in page


# --- Status, last check and timeline ---------------------------------------------


class TestStatus:
    def test_a_pending_page_polls_and_an_active_one_does_not(self, alice, gallery, acme):
        client = signed_in(alice)
        assert 'data-poll="true"' in html(client.get(detail_url(gallery)))
        active = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        assert 'data-poll="false"' in html(client.get(detail_url(active)))

    def test_the_status_endpoint_answers_json_and_expedites_a_watched_pending_domain(self, alice, gallery):
        Domain.objects.filter(pk=gallery.pk).update(next_check_at=timezone.now() + timedelta(hours=2))
        response = signed_in(alice).get(action_url("status", gallery))
        data = response.json()
        assert data["status"] == "pending" and data["poll"] is True
        assert "Pending" in data["status_html"]
        assert "Next automatic check: due now." in data["meta_html"]
        assert response["Cache-Control"].startswith("max-age=0")
        gallery.refresh_from_db()
        assert gallery.next_check_at <= timezone.now()

    def test_the_status_endpoint_renders_every_status_dependent_part(self, alice, gallery):
        client = signed_in(alice)
        pending = client.get(action_url("status", gallery)).json()["parts"]
        assert set(pending) == {"status", "meta", "events", "records_intro", "records_tips", "notifications"}
        assert "create this record" in pending["records_intro"]
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.ACTIVE)
        active = client.get(action_url("status", gallery)).json()["parts"]
        assert "Keep it in place" in active["records_intro"]
        assert "updates by itself" not in active["records_tips"]
        page = html(client.get(detail_url(gallery)))
        for key in pending:
            assert f'data-live-part="{key}"' in page

    def test_the_notifications_card_is_a_live_part_that_shows_a_new_status_event(self, alice, gallery):
        client = signed_in(alice)
        assert "Domain went live" not in client.get(action_url("status", gallery)).json()["parts"]["notifications"]
        services.domain_transition(domain=gallery, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok")
        assert "Domain went live" in client.get(action_url("status", gallery)).json()["parts"]["notifications"]

    def test_the_added_message_is_bound_to_the_pending_status(self, alice, acme):
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "new.client-domain.com"}, follow=True)
        assert 'data-while-status="pending"' in html(response)

    def test_an_active_domain_still_reaching_the_edge_is_not_called_live(self):
        from domains import presenters
        from domains.edge.states import EdgeSync

        assert not presenters.status_text(DomainStatus.ACTIVE, edge_state=EdgeSync.SYNCING).startswith("Live")
        assert presenters.status_text(DomainStatus.ACTIVE, edge_state=EdgeSync.SERVING).startswith("Live")

    def test_the_next_check_is_shown_in_words(self, alice, gallery):
        Domain.objects.filter(pk=gallery.pk).update(next_check_at=timezone.now() + timedelta(minutes=4, seconds=50))
        assert "Next automatic check in 5 minutes." in text(signed_in(alice).get(detail_url(gallery)))

    def test_a_failed_domain_says_why_it_stopped(self, alice, gallery):
        services.domain_transition(
            domain=gallery,
            to_status=DomainStatus.FAILED,
            actor=services.SYSTEM,
            reason="The certificate could not be validated: DNS does not point at VE.AI.",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert (
            "Stopped: The certificate could not be validated: DNS does not point at VE.AI. "
            "Fix the cause, then press Retry." in page
        )
        assert "no correct record was found in time" not in page

    def test_a_claim_another_workspace_won_says_so_without_naming_it(self, charlie, charlie_studio, alice, acme):
        claim = services.domain_create(user=charlie, workspace=charlie_studio, hostname="gallery.client-domain.com")
        services.domain_transition(
            domain=claim,
            to_status=DomainStatus.FAILED,
            actor=services.SYSTEM,
            reason=OTHER_PROVED_MESSAGE,
        )
        page = text(signed_in(charlie).get(detail_url(claim)))
        assert "Stopped: Another workspace proved ownership of this hostname. If this hostname is yours" in page
        assert acme.name not in page and acme.public_id not in page

    def test_a_failed_check_explains_each_hop_in_plain_words(self, alice, gallery):
        DomainCheck.objects.create(
            domain=gallery,
            outcome=CheckOutcome.WRONG_TARGET,
            expected={
                "kind": "subdomain",
                "cname": {
                    "name": gallery.hostname,
                    "type": "CNAME",
                    "value": gallery.target,
                },
            },
            found=[
                {
                    "name": gallery.hostname,
                    "type": "CNAME",
                    "status": "answer",
                    "records": ["old-host.example.net"],
                    "server": "198.51.100.7:53",
                    "authoritative": True,
                    "error": None,
                },
                {
                    "name": "old-host.example.net",
                    "type": "CNAME",
                    "status": "nxdomain",
                    "records": [],
                    "server": "203.0.113.9:53",
                    "authoritative": True,
                    "error": None,
                },
            ],
            message=f"{gallery.hostname} has a CNAME to old-host.example.net; it must point to {gallery.target}.",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert "Last check: The record points somewhere else." in page
        assert f"it must point to {gallery.target}" in page
        assert f"CNAME {gallery.hostname} → {gallery.target}" in page
        assert f"{gallery.hostname} has CNAME old-host.example.net — answered by 198.51.100.7:53" in page
        assert "old-host.example.net does not exist — answered by 203.0.113.9:53" in page

    def test_a_hop_a_resolver_answered_never_shows_the_resolvers_address(self, alice, gallery):
        # Checks stored before resolvers were anonymised still carry the address.
        DomainCheck.objects.create(
            domain=gallery,
            outcome=CheckOutcome.MISSING,
            found=[
                {"name": gallery.hostname, "type": "CNAME", "status": "nxdomain", "records": []}
                | {"server": "10.0.0.2:53", "authoritative": False, "error": None}
            ],
            message=f"{gallery.hostname} does not exist in DNS yet.",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert f"{gallery.hostname} does not exist — answered by a resolver, not your DNS host" in page
        assert "10.0.0.2" not in page

    def test_a_transient_failure_does_not_blame_the_tenant(self, alice, gallery):
        DomainCheck.objects.create(
            domain=gallery,
            outcome=CheckOutcome.TRANSIENT,
            expected={},
            found=[
                {
                    "name": gallery.hostname,
                    "type": "CNAME",
                    "status": "error",
                    "records": [],
                    "server": "198.51.100.7:53",
                    "authoritative": False,
                    "error": "198.51.100.7:53: timeout",
                }
            ],
            message="DNS did not answer about gallery.client-domain.com (198.51.100.7:53: timeout); nothing changes.",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert "We could not reach your DNS servers; we'll retry." in page.replace("&#x27;", "'")
        assert "no answer about gallery.client-domain.com (CNAME): 198.51.100.7:53: timeout" in page

    def test_the_timeline_lists_the_domains_events(self, alice, gallery):
        services.domain_transition(
            domain=gallery,
            to_status=DomainStatus.ACTIVE,
            actor=services.SYSTEM,
            reason="verified",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert "Pending → Active: verified" in page
        assert "Added by alice" in page


# --- Roles, scoping and CSRF on the actions -------------------------------------


class TestActions:
    def test_an_owner_sees_every_action(self, alice, gallery):
        page = html(signed_in(alice).get(detail_url(gallery)))
        assert 'id="check-button"' in page
        assert action_url("delete", gallery) in page

    def test_retry_is_offered_for_a_failed_domain_and_moves_it_back_to_pending(self, alice, gallery):
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.FAILED)
        client = signed_in(alice)
        assert 'id="retry-button"' in html(client.get(detail_url(gallery)))
        response = client.post(action_url("retry", gallery), follow=True)
        gallery.refresh_from_db()
        assert gallery.status == DomainStatus.PENDING
        assert "Checking again" in text(response)

    def test_check_now_says_when_it_is_rate_limited(self, alice, gallery, monkeypatch):
        def limited(*, user, domain):
            raise CheckRateLimited(7)

        monkeypatch.setattr(services, "domain_check_queue", limited)
        response = signed_in(alice).post(action_url("check", gallery), follow=True)
        assert "try again in 7 s" in text(response)

    def test_an_action_the_status_does_not_allow_is_explained_on_the_domains_page(self, alice, gallery):
        response = signed_in(alice).post(action_url("retry", gallery), follow=True)  # pending, not failed
        assert response.redirect_chain == [(detail_url(gallery), 302)]
        assert 'class="message message-error"' in html(response)
        assert "retried" in text(response)
        gallery.refresh_from_db()
        assert gallery.status == DomainStatus.PENDING

    def test_check_now_shows_the_result_when_it_comes_within_the_wait(self, alice, gallery, monkeypatch):
        def verified_by_a_worker(*, user, domain):
            services.domain_transition(
                domain=domain,
                to_status=DomainStatus.ACTIVE,
                actor=services.SYSTEM,
                reason="verified",
            )
            DomainCheck.objects.create(domain=domain, outcome=CheckOutcome.VERIFIED, message="ok", manual=True)
            return services.CheckQueued(previous_check_id=None, queued=True)

        monkeypatch.setattr(services, "domain_check_queue", verified_by_a_worker)
        response = signed_in(alice).post(action_url("check", gallery), follow=True)
        assert "Checked just now: DNS is set up correctly. Status: Active." in text(response)

    def test_check_now_never_runs_the_check_inside_the_request(
        self, alice, gallery, devdns, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        # The tenant's DNS never answers: run here, the check would hold the request for its whole deadline.
        devdns.fault(gallery.hostname, timeout=True)
        settings.DOMAIN_CHECK_NOW_WAIT = 0.3
        queued = []
        monkeypatch.setattr(enqueue, "_publish", lambda name, args: queued.append(name))
        client = signed_in(alice)

        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(action_url("check", gallery), follow=True)
        elapsed = time.monotonic() - started

        assert queued == ["domains.check_domain_now"]
        assert elapsed < 1.0
        assert not DomainCheck.objects.filter(domain=gallery).exists()
        assert "Checking DNS now; the result appears on this page in a few seconds." in text(response)
        assert "Checking now…" in text(response)
        status = client.get(reverse("domains:status", kwargs={"domain_id": gallery.pk})).json()
        assert status["poll"] is True  # the page keeps asking until the result is in

    def test_bob_sees_no_action_buttons(self, bob, gallery):
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.FAILED)
        page = html(signed_in(bob).get(detail_url(gallery)))
        assert "gallery.client-domain.com" in page
        assert 'id="check-button"' not in page
        assert 'id="retry-button"' not in page
        assert action_url("delete", gallery) not in page
        assert "<form" not in page.split("</header>", 1)[1]  # no form at all below the header

    @pytest.mark.parametrize("action", ["check", "retry", "delete"])
    def test_bob_is_refused_when_he_posts_an_action_anyway(self, bob, gallery, action):
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.FAILED)
        response = signed_in(bob).post(action_url(action, gallery), {"confirm": gallery.hostname})
        assert response.status_code == 403
        assert "owners and admins" in text(response)
        gallery.refresh_from_db()
        assert gallery.status == DomainStatus.FAILED and gallery.last_manual_check_at is None

    @pytest.mark.parametrize("name", ["detail", "status", "delete"])
    def test_charlie_gets_404_for_alices_domain(self, charlie, gallery, name):
        response = signed_in(charlie).get(action_url(name, gallery))
        assert response.status_code == 404
        assert "gallery.client-domain.com" not in text(response)

    @pytest.mark.parametrize("name", ["check", "retry", "delete"])
    def test_charlie_gets_404_when_he_posts_to_alices_domain(self, charlie, gallery, name):
        assert signed_in(charlie).post(action_url(name, gallery), {"confirm": gallery.hostname}).status_code == 404
        assert Domain.objects.filter(pk=gallery.pk).exists()

    def test_an_unknown_domain_id_is_404(self, alice):
        assert signed_in(alice).get("/domains/00000000-0000-0000-0000-000000000000/").status_code == 404

    @pytest.mark.parametrize("name", ["check", "retry", "delete"])
    def test_every_action_needs_a_csrf_token(self, alice, gallery, name):
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.FAILED)
        response = signed_in(alice, enforce_csrf_checks=True).post(
            action_url(name, gallery), {"confirm": gallery.hostname}
        )
        assert response.status_code == 403
        assert Domain.objects.get(pk=gallery.pk).status == DomainStatus.FAILED

    def test_every_form_carries_a_csrf_token(self, alice, gallery):
        client = signed_in(alice)
        for url in [
            "/",
            reverse("domains:add"),
            detail_url(gallery),
            action_url("delete", gallery),
        ]:
            page = html(client.get(url))
            forms = re.findall(r"<form\b.*?</form>", page, re.DOTALL)
            assert forms
            for form in forms:
                if 'method="post"' in form:
                    assert 'name="csrfmiddlewaretoken"' in form, (url, form[:120])

    def test_delete_needs_the_hostname_typed(self, alice, gallery):
        client = signed_in(alice)
        wrong = client.post(action_url("delete", gallery), {"confirm": "gallery"})
        assert wrong.status_code == 400
        assert "That doesn't match" in text(wrong).replace("&#x27;", "'")
        assert Domain.objects.filter(pk=gallery.pk).exists()
        done = client.post(
            action_url("delete", gallery),
            {"confirm": "Gallery.Client-Domain.com"},
            follow=True,
        )
        assert not Domain.objects.filter(pk=gallery.pk).exists()
        assert "gallery.client-domain.com was deleted" in text(done)

    def test_deleting_a_suspended_domain_says_the_hostname_stays_blocked(self, alice, gallery, support):
        services.domain_suspend(staff_user=support, domain=gallery, reason="phishing report")
        page = text(signed_in(alice).get(action_url("delete", gallery)))
        assert "Deleting it does not lift the suspension" in page and "until support lifts the block" in page

    def test_a_link_into_another_of_my_workspaces_switches_to_it(self, alice, acme):
        studio = WorkspaceFactory(name="Aaa Studio")  # first by name, so the default
        MembershipFactory(user=alice, workspace=studio, role=Role.OWNER)
        domain = DomainFactory(workspace=acme)
        client = signed_in(alice)
        assert client.get(detail_url(domain)).status_code == 200
        assert domain.hostname in text(client.get("/"))


# --- Nothing is loaded from anywhere but the portal --------------------------------

URL_ATTRIBUTE = re.compile(
    r'\b(?:src|href|action|srcset|poster|data|formaction)\s*=\s*["\']([^"\']*)["\']',
    re.IGNORECASE,
)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
JS_FETCH = re.compile(r"""(?:fetch|open|importScripts|EventSource|WebSocket)\(\s*["'`]([^"'`]+)""")


def foreign(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in ("", "mailto", "data")


class TestNoOtherHosts:
    def pages(self, alice, bob, charlie, gallery, apex):
        alice_client, anonymous = signed_in(alice), Client()
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.FAILED)
        yield anonymous.get(reverse("login"))
        yield alice_client.get("/")
        yield alice_client.get(reverse("domains:add"))
        yield alice_client.post(reverse("domains:add"), {"hostname": "bad_name.example.com"})
        yield alice_client.get(detail_url(gallery))
        yield alice_client.get(detail_url(apex))
        yield alice_client.get(action_url("delete", gallery))
        yield signed_in(bob).post(action_url("check", gallery))  # 403 page
        yield signed_in(charlie).get(detail_url(gallery))  # 404 page
        yield signed_in(charlie).get("/")  # empty state
        status = alice_client.get(action_url("status", gallery)).json()
        yield status["status_html"] + status["meta_html"] + status["events_html"]

    def test_no_page_refers_to_a_host_other_than_the_portal(self, alice, bob, charlie, gallery, apex, settings):
        settings.EDGE_APEX_ADDRESSES = ["192.0.2.44"]
        seen = 0
        for page in self.pages(alice, bob, charlie, gallery, apex):
            body = page if isinstance(page, str) else html(page)
            for url in URL_ATTRIBUTE.findall(body) + CSS_URL.findall(body) + JS_FETCH.findall(body):
                seen += 1
                assert not foreign(url), url
            assert "//" not in "".join(re.findall(r"<script\b[^>]*>(.*?)</script>", body, re.DOTALL))
        assert seen > 20

    def test_the_static_script_and_styles_ask_only_the_portal(self):
        for name in ["portal/portal.js", "portal/portal.css"]:
            path = finders.find(name)
            assert path, name
            source = Path(path).read_text(encoding="utf-8")
            urls = CSS_URL.findall(source) + JS_FETCH.findall(source)
            assert all(not foreign(url) for url in urls), urls
            assert not re.search(r"https?://", source), name

    def test_static_files_are_served_from_the_portal_itself(self):
        assert not urlsplit(django_settings.STATIC_URL).netloc


# --- Names and dates as people read them --------------------------------------------


class TestPeoplesForms:
    def test_a_refusal_names_an_idn_in_unicode(self, alice, acme):
        response = signed_in(alice).post(reverse("domains:add"), {"hostname": "bücher.example"})
        assert "“bücher.example” is a reserved name" in html(response)
        assert "xn--bcher-kva" not in html(response)

    def test_the_dns_card_names_the_zone_in_unicode(self, alice, acme):
        domain = services.domain_create(user=alice, workspace=acme, hostname="fotos.bücher.de")
        page = text(signed_in(alice).get(detail_url(domain)))
        assert "where you manage DNS for bücher.de" in page
        assert 'data-copy="fotos.xn--bcher-kva.de"' in html(signed_in(alice).get(detail_url(domain)))

    def test_an_idn_domains_check_and_timeline_read_in_unicode_with_the_ascii_form_only_after_it(
        self, alice, acme, devdns
    ):
        domain = DomainFactory(workspace=acme, hostname="fotos.xn--bcher-kva.de", status=DomainStatus.ACTIVE)
        devdns.add("www.xn--bcher-kva.de", "A", "192.0.2.1")  # the zone exists; fotos does not
        services.domain_check(domain=domain)

        response = signed_in(alice).get(detail_url(domain))
        said = "fotos.bücher.de (fotos.xn--bcher-kva.de) does not exist in DNS yet"
        assert f"Active → Misconfigured: {said}" in text(response)  # the timeline
        card = re.search(r'<div class="check check-.*?</div>', html(response), re.DOTALL).group(0)
        assert f"<p>{said}; add a CNAME record pointing to {domain.target}.</p>" in card
        assert "<code>fotos.bücher.de (fotos.xn--bcher-kva.de) does not exist</code>" in card  # the hop
        # Beyond the records to publish ("Expected"), punycode appears only in parentheses after the Unicode name.
        read = re.sub(r"<strong>Expected</strong>.*?</ul>", "", card, flags=re.DOTALL)
        assert "xn--" not in read.replace("(fotos.xn--bcher-kva.de)", "")
        assert "<code>CNAME fotos.xn--bcher-kva.de → " in card

    def test_one_date_format_in_the_timeline_and_the_admin(self, alice, gallery, support):
        when = timezone.now().replace(year=2026, month=11, day=30, hour=2, minute=32)
        gallery.events.update(created_at=when)
        assert "30 Nov 2026, 02:32" in text(signed_in(alice).get(detail_url(gallery)))
        Domain.objects.filter(pk=gallery.pk).update(created_at=when)
        admin_page = text(signed_in(support).get(reverse("admin:domains_domain_change", args=[gallery.pk])))
        assert "30 Nov 2026, 02:32" in admin_page

    def test_the_admin_lists_both_forms_sorted_by_the_unicode_name(self, alice, acme, support):
        for hostname in ("zeta.client-domain.com", "fotos.bücher.de", "alpha.client-domain.com"):
            services.domain_create(user=alice, workspace=acme, hostname=hostname)
        page = text(signed_in(support).get(reverse("admin:domains_domain_changelist")))
        assert "fotos.bücher.de (fotos.xn--bcher-kva.de)" in page
        positions = [page.index(name) for name in ("alpha.client", "fotos.bücher.de", "zeta.client")]
        assert positions == sorted(positions)


class TestSuspensionWords:
    def test_the_tenant_reads_a_neutral_default_a_support_link_and_never_the_internal_note(
        self, alice, gallery, support, settings
    ):
        settings.SUPPORT_URL = "https://help.ve.ai/contact"
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.ACTIVE)
        services.domain_suspend(staff_user=support, domain=gallery, reason="chargeback dispute")
        response = signed_in(alice).get(detail_url(gallery))
        page = text(response)
        assert "chargeback" not in page
        assert "Suspended by VE.AI support. Please contact support to find out more" in page
        assert 'href="https://help.ve.ai/contact"' in html(response)

    def test_support_s_message_to_the_tenant_is_shown_instead_of_the_default(self, alice, gallery, support):
        Domain.objects.filter(pk=gallery.pk).update(status=DomainStatus.ACTIVE)
        services.domain_suspend(
            staff_user=support,
            domain=gallery,
            reason="chargeback dispute",
            tenant_message="Your payment needs attention.",
        )
        page = text(signed_in(alice).get(detail_url(gallery)))
        assert "Suspended by VE.AI support. Your payment needs attention." in page
        assert "chargeback" not in page


class TestSiteErrorPages:
    def test_with_debug_on_a_guessed_url_is_the_sites_404_not_djangos_debug_page(self, charlie, gallery, settings):
        settings.DEBUG = True
        client = signed_in(charlie)
        for url in (detail_url(gallery), "/no-such-page/"):
            response = client.get(url)
            assert response.status_code == 404
            assert "Page not found" in text(response) and "URLconf" not in html(response)

    def test_with_debug_on_an_error_is_the_sites_500_page(self, alice, settings, monkeypatch):
        from domains import views

        settings.DEBUG = True

        def broken(**kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(views.selectors, "domain_list", broken)
        client = signed_in(alice, raise_request_exception=False)
        response = client.get("/")
        assert response.status_code == 500
        assert "Something went wrong" in text(response) and "Traceback" not in html(response)

    def test_a_refusal_is_the_sites_403_page(self, bob, gallery, settings):
        settings.DEBUG = True
        response = signed_in(bob).post(action_url("retry", gallery))
        assert response.status_code == 403 and "owners and admins" in text(response)

    def test_the_admin_and_the_site_have_a_favicon(self, alice, support):
        assert 'rel="icon"' in html(signed_in(alice).get("/"))
        assert 'rel="icon"' in html(signed_in(support).get(reverse("admin:index")))
