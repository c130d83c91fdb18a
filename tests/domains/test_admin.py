"""The support admin: each action goes through a service, leaves an event, and needs permission."""

import time

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission

from domains import enqueue, services, tasks
from domains.models import ActorKind, Domain, DomainEvent, DomainStatus, EdgeOutbox
from tests.factories import DomainFactory, UserFactory
from workspaces.models import ApiKey
from workspaces.services import api_key_create

pytestmark = pytest.mark.postgres

CHANGELIST = "/admin/domains/domain/"


@pytest.fixture
def as_support(client, support):
    client.force_login(support)
    return client


@pytest.fixture
def viewer(db):
    """Staff who may look at domains but not change them."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_domain", "view_apikey", "view_workspace"]))
    return user


def act(client, action: str, *domains, **extra):
    return client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [str(d.pk) for d in domains], **extra}, follow=True
    )


def staff_event(domain, support) -> DomainEvent:
    return DomainEvent.objects.filter(hostname=domain.hostname, actor_kind=ActorKind.STAFF, actor_user=support).latest(
        "created_at"
    )


class TestListAndPages:
    def test_the_list_shows_status_outcome_edge_state_and_filters(self, as_support, acme):
        DomainFactory(
            workspace=acme,
            hostname="gallery.client-domain.com",
            status=DomainStatus.ACTIVE,
            last_check_outcome="verified",
        )
        page = as_support.get(CHANGELIST).content.decode()
        for text in ("gallery.client-domain.com", "Acme Photo", "verified", "Not served", "By edge state"):
            assert text in page
        assert "gallery.client-domain.com" in as_support.get(CHANGELIST, {"edge_state": "not_served"}).content.decode()
        assert "gallery.client-domain.com" not in as_support.get(CHANGELIST, {"edge_state": "serving"}).content.decode()

    def test_search_finds_by_hostname_and_workspace_name(self, as_support, acme, charlie_studio):
        DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
        DomainFactory(workspace=charlie_studio, hostname="photos.charlie-domain.com")
        page = as_support.get(CHANGELIST, {"q": "Charlie"}).content.decode()
        assert "photos.charlie-domain.com" in page and "gallery.client-domain.com" not in page

    def test_the_change_page_is_read_only_with_token_target_and_history(self, as_support, acme, alice):
        domain = DomainFactory(workspace=acme)
        DomainEvent.objects.create(
            domain=domain, workspace=acme, hostname=domain.hostname, actor_kind="user", actor_user=alice, reason="added"
        )
        page = as_support.get(f"{CHANGELIST}{domain.pk}/change/").content.decode()
        assert domain.token in page and domain.target in page
        assert "recent events" in page.lower() and "recent checks" in page.lower()
        assert 'name="hostname"' not in page and 'name="_save"' not in page

    def test_staff_without_permission_see_nothing(self, client, staff_without_permission, acme):
        domain = DomainFactory(workspace=acme)
        client.force_login(staff_without_permission)
        for url in (
            CHANGELIST,
            f"{CHANGELIST}{domain.pk}/change/",
            "/admin/domains/edgeoutbox/",
            "/admin/workspaces/apikey/",
        ):
            assert client.get(url).status_code == 403, url

    def test_the_workspace_page_lists_members_domains_and_keys_without_secrets(self, as_support, acme, alice):
        DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
        key, plaintext = api_key_create(user=alice, workspace=acme, name="Zapier")
        page = as_support.get(f"/admin/workspaces/workspace/{acme.pk}/change/").content.decode()
        assert "alice" in page and "gallery.client-domain.com" in page and "Zapier" in page
        assert plaintext not in page and key.secret_hash not in page

    def test_the_outbox_is_listed_read_only(self, as_support):
        EdgeOutbox.objects.create(
            hostname="gallery.client-domain.com",
            workspace_public_id="ws_1",
            version=3,
            state="serve",
            attempts=2,
            last_error="timeout",
        )
        page = as_support.get("/admin/domains/edgeoutbox/", {"delivery": "failing"}).content.decode()
        assert "gallery.client-domain.com" in page and "timeout" in page
        assert as_support.get("/admin/domains/edgeoutbox/add/").status_code == 403


class TestActions:
    def test_resync_writes_a_fresh_outbox_row_and_an_event(self, as_support, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        act(as_support, "resync_to_edge", domain)
        row = EdgeOutbox.objects.get(hostname=domain.hostname)
        assert row.state == "serve" and row.version > 0
        event = staff_event(domain, support)
        assert (event.from_status, event.to_status, event.reason) == ("active", "active", "resynced to edge")

    def test_suspend_asks_for_a_reason_first(self, as_support, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        page = act(as_support, "suspend", domain).content.decode()
        assert "reason" in page.lower()
        domain.refresh_from_db()
        assert domain.status == DomainStatus.ACTIVE
        act(as_support, "suspend", domain, confirm="1", reason="Phishing report #42")
        domain.refresh_from_db()
        assert domain.status == DomainStatus.SUSPENDED
        assert staff_event(domain, support).reason == "Phishing report #42"
        assert EdgeOutbox.objects.get(hostname=domain.hostname).state == "gone"

    def test_suspend_keeps_the_internal_note_apart_from_the_message_to_the_tenant(self, as_support, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        page = act(as_support, "suspend", domain).content.decode()
        assert "Internal note" in page and "Message to the tenant" in page
        act(
            as_support,
            "suspend",
            domain,
            confirm="1",
            reason="chargeback dispute",
            tenant_message="Your payment needs attention.",
        )
        domain.refresh_from_db()
        assert domain.suspension_message == "Your payment needs attention."
        assert staff_event(domain, support).reason == "chargeback dispute"

    def test_unsuspend_and_retry_go_back_to_pending(self, as_support, support, acme):
        suspended = DomainFactory(workspace=acme, status=DomainStatus.SUSPENDED)
        failed = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        act(as_support, "unsuspend", suspended)
        act(as_support, "retry", failed)
        for domain in (suspended, failed):
            domain.refresh_from_db()
            assert domain.status == DomainStatus.PENDING
            assert staff_event(domain, support).to_status == "pending"

    def test_an_action_that_does_not_apply_is_reported_not_applied(self, as_support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        page = act(as_support, "retry", domain).content.decode()
        assert "Only a failed domain can be retried." in page
        domain.refresh_from_db()
        assert domain.status == DomainStatus.ACTIVE

    def test_check_now_is_queued_and_a_worker_checks_dns_as_support(
        self, as_support, support, acme, devdns, monkeypatch, django_capture_on_commit_callbacks
    ):
        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
        devdns.add("gallery.client-domain.com", "CNAME", domain.target)
        queued = []
        monkeypatch.setattr(enqueue, "_publish", lambda name, args: queued.append((name, args)))

        with django_capture_on_commit_callbacks(execute=True):
            page = act(as_support, "check_now", domain).content.decode()

        assert "Queued a DNS check of 1 domain." in page
        assert not domain.checks.exists()  # nothing ran inside the admin's request
        assert staff_event(domain, support).reason == "DNS check requested by support"
        [(name, args)] = queued
        assert name == "domains.check_domain_now"
        tasks.check_domain_now(*args)  # what the worker runs
        domain.refresh_from_db()
        assert domain.status == DomainStatus.ACTIVE and domain.checks.get().manual
        assert staff_event(domain, support).to_status == "active"  # the change is support's

    def test_check_now_of_many_domains_returns_at_once_even_when_their_dns_hangs(
        self, as_support, acme, devdns, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        domains = [DomainFactory(workspace=acme, hostname=f"studio-{n}.client-domain.com") for n in range(5)]
        for domain in domains:
            devdns.fault(domain.hostname, timeout=True)
        monkeypatch.setattr(enqueue, "_publish", lambda name, args: None)

        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            page = act(as_support, "check_now", *domains).content.decode()

        assert time.monotonic() - started < settings.DNS_CHECK_DEADLINE  # run here, five hung checks take 5 deadlines
        assert "Queued a DNS check of 5 domains." in page

    @pytest.mark.parametrize("action", ["check_now", "resync_to_edge", "suspend", "unsuspend", "retry"])
    def test_actions_are_refused_to_staff_who_may_only_view(self, client, viewer, acme, action):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        client.force_login(viewer)
        page = client.get(CHANGELIST).content.decode()
        assert domain.hostname in page and f'value="{action}"' not in page
        act(client, action, domain, confirm="1", reason="nope")
        domain.refresh_from_db()
        assert domain.status == DomainStatus.FAILED
        assert not DomainEvent.objects.filter(actor_kind=ActorKind.STAFF).exists()
        assert not EdgeOutbox.objects.exists()

    def test_support_revokes_api_keys_and_viewers_cannot(self, as_support, viewer, alice, acme):
        from django.test import Client

        key, _ = api_key_create(user=alice, workspace=acme, name="Zapier")
        viewing = Client()
        viewing.force_login(viewer)
        viewing.post("/admin/workspaces/apikey/", {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk]})
        assert ApiKey.objects.get().revoked_at is None
        as_support.post("/admin/workspaces/apikey/", {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk]})
        assert ApiKey.objects.get().revoked_at is not None


class TestBlockedHostnames:
    BLOCKS = "/admin/domains/hostnameblock/"

    def test_suspending_in_the_admin_blocks_the_hostname_and_the_block_is_listed(self, as_support, alice, acme):
        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        act(as_support, "suspend", domain, confirm="1", reason="Phishing report #42")
        services.domain_delete(user=alice, domain=Domain.objects.get(pk=domain.pk))

        page = as_support.get(self.BLOCKS, {"block": "in_force"}).content.decode()
        assert "gallery.client-domain.com" in page and "Phishing report #42" in page and "Acme Photo" in page
        assert "gallery.client-domain.com" not in as_support.get(self.BLOCKS, {"block": "lifted"}).content.decode()

    def test_support_lifts_a_block_with_a_reason_and_it_is_recorded(self, as_support, support, alice, acme):
        from domains.models import HostnameBlock

        domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE)
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")
        block = HostnameBlock.objects.get()
        lift = {"action": "lift", ACTION_CHECKBOX_NAME: [str(block.pk)]}

        asked = as_support.post(self.BLOCKS, lift, follow=True).content.decode()
        assert "reason" in asked.lower() and HostnameBlock.objects.get().is_active
        done = as_support.post(self.BLOCKS, {**lift, "confirm": "1", "reason": "owner verified"}, follow=True)

        block.refresh_from_db()
        assert "Lifted 1 block" in done.content.decode()
        assert (block.is_active, block.lifted_by, block.lift_reason) == (False, support, "owner verified")
        assert Domain.objects.get(pk=domain.pk).status == DomainStatus.PENDING
        assert staff_event(domain, support).reason == "owner verified"

    def test_staff_who_may_only_view_cannot_lift_a_block(self, client, viewer, support, acme):
        from domains.models import HostnameBlock

        viewer.user_permissions.add(*Permission.objects.filter(codename="view_hostnameblock"))
        services.domain_suspend(staff_user=support, domain=DomainFactory(workspace=acme), reason="abuse")
        block = HostnameBlock.objects.get()
        client.force_login(viewer)
        page = client.get(self.BLOCKS).content.decode()
        assert block.hostname in page and 'value="lift"' not in page
        client.post(self.BLOCKS, {"action": "lift", ACTION_CHECKBOX_NAME: [str(block.pk)], "confirm": "1"})
        assert HostnameBlock.objects.get().is_active


class TestWhatTheEdgeSees:
    def test_the_panel_shows_the_live_item_next_to_the_database(self, as_support, acme, edge_table):
        domain = DomainFactory(
            workspace=acme, hostname="gallery.client-domain.com", status=DomainStatus.ACTIVE, edge_version=41
        )
        edge_table.client.put_item(
            TableName=edge_table.name,
            Item={
                "host": {"S": domain.hostname},
                "workspace_id": {"S": "ws_somebody_else"},
                "version": {"N": "40"},
                "state": {"S": "serve"},
                "updated_at": {"S": "2030-01-01T00:00:00Z"},
            },
        )
        page = as_support.get(f"{CHANGELIST}{domain.pk}/change/").content.decode()
        assert "ws_somebody_else" in page and "2030-01-01T00:00:00Z" in page
        assert acme.public_id in page and "differs" in page

    def test_an_unreachable_endpoint_is_shown_not_raised(self, as_support, acme, edge_table, settings):
        from domains.edge import store as edge_store
        from tests.fixtures.processes import free_port

        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
        edge_store.reset_client()
        domain = DomainFactory(workspace=acme)
        response = as_support.get(f"{CHANGELIST}{domain.pk}/change/")
        assert response.status_code == 200 and "Could not read the edge table" in response.content.decode()


def result_list(response) -> str:
    """The changelist's table of rows (not the search box, which echoes the term)."""
    page = response.content.decode()
    start = page.index('<table id="result_list">')
    return page[start : page.index("</table>", start)]


IDN_SHOWN = "fotos.bücher.de (fotos.xn--bcher-kva.de)"
HOSTNAME_LISTS = [
    "/admin/domains/domain/",
    "/admin/domains/hostnameblock/",
    "/admin/domains/domainevent/",
    "/admin/domains/cdntenant/",
    "/admin/domains/edgeoutbox/",
]


class TestIdnHostnames:
    @pytest.fixture
    def idn_domain(self, support, alice, acme):
        from domains.models import CdnTenant

        services.domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")
        domain = services.domain_create(user=alice, workspace=acme, hostname="fotos.bücher.de")
        Domain.objects.filter(pk=domain.pk).update(status=DomainStatus.ACTIVE)
        services.domain_suspend(staff_user=support, domain=Domain.objects.get(pk=domain.pk), reason="abuse report")
        for row in Domain.objects.all():
            CdnTenant.objects.create(
                domain=row, hostname=row.hostname, workspace_public_id=acme.public_id, name=f"t-{row.pk}"
            )
            EdgeOutbox.objects.create(
                hostname=row.hostname, workspace_public_id=acme.public_id, version=1, state="serve"
            )
        return domain

    @pytest.mark.parametrize("url", HOSTNAME_LISTS)
    def test_a_list_shows_the_unicode_name_with_the_ascii_form_only_after_it(self, as_support, idn_domain, url):
        rows = result_list(as_support.get(url))
        assert IDN_SHOWN in rows
        assert "xn--" not in rows.replace(IDN_SHOWN, "")

    @pytest.mark.parametrize("url", HOSTNAME_LISTS)
    @pytest.mark.parametrize("term", ["fotos.BÜCHER.de", "bücher", "xn--bcher-kva"])
    def test_a_list_finds_the_hostname_by_either_form(self, as_support, idn_domain, url, term):
        rows = result_list(as_support.get(url, {"q": term}))
        assert IDN_SHOWN in rows
        assert "gallery.client-domain.com" not in rows

    def test_the_suspend_and_lift_forms_name_both_forms(self, as_support, idn_domain):
        from domains.models import HostnameBlock

        asked = act(as_support, "suspend", idn_domain).content.decode()
        assert f"{IDN_SHOWN} — Acme Photo" in asked
        block = HostnameBlock.objects.get()
        asked = as_support.post(
            "/admin/domains/hostnameblock/", {"action": "lift", ACTION_CHECKBOX_NAME: [block.pk]}
        ).content.decode()
        assert f"{IDN_SHOWN} — Acme Photo; blocked: abuse report" in asked
