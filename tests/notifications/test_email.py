"""Owners and admins hear by e-mail, through a real SMTP server on loopback, when a domain goes live, breaks or fails."""

import pytest

from domains.models import DomainStatus
from domains.services.lifecycle import SYSTEM, domain_create, domain_transition
from domains.services.staff import domain_suspend
from notifications.models import EmailPreference, Event
from notifications.tasks import email_event
from tests.factories import MembershipFactory, UserFactory
from workspaces.models import Role

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"


def send(event_type: str) -> None:
    email_event(str(Event.objects.filter(type=event_type).first().pk))


@pytest.fixture
def dana(acme):
    """An admin of Acme Photo."""
    user = UserFactory(username="dana")
    MembershipFactory(user=user, workspace=acme, role=Role.ADMIN)
    return user


def test_owners_and_admins_get_a_plain_and_html_mail_when_a_domain_goes_live_members_none(
    smtp_server, alice, bob, dana, acme
):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")

    send("domain.active")

    assert sorted(to for rcpt, _ in smtp_server.messages for to in rcpt) == ["alice@example.com", "dana@example.com"]
    _, message = smtp_server.messages[0]
    assert message["Subject"] == f"{HOST} is live"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"{HOST} is live" in text and "Acme Photo" in text
    assert "http://127.0.0.1:8000/notifications/email/" in text
    assert f"/domains/{domain.pk}/" in text and f'href="http://127.0.0.1:8000/domains/{domain.pk}/"' in html


def test_a_failure_says_why_and_what_to_do(smtp_server, alice, acme):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.FAILED, actor=SYSTEM, reason="No record after 7 days.")

    send("domain.failed")

    ((_, message),) = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    assert "No record after 7 days." in text and "Retry" in text


def test_a_suspension_mail_carries_supports_message_never_the_internal_note(smtp_server, alice, acme, support):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    domain_suspend(
        staff_user=support,
        domain=domain,
        reason="chargeback dispute, ticket 4411",
        tenant_message="Your account needs attention; please write to billing.",
    )

    send("domain.suspended")

    ((_, message),) = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Your account needs attention; please write to billing." in text
    assert "chargeback" not in text and "chargeback" not in html


def test_alice_can_turn_them_off(smtp_server, alice, acme):
    EmailPreference.objects.create(user=alice, domain_emails=False)
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    send("domain.active")
    assert smtp_server.messages == []


def test_creation_and_checks_that_change_nothing_send_no_mail(smtp_server, alice, acme):
    domain_create(user=alice, workspace=acme, hostname=HOST)
    send("domain.created")
    assert smtp_server.messages == []


def test_an_smtp_server_that_is_down_makes_the_task_retry_rather_than_drop_the_mail(alice, acme, settings):
    from tests.notifications.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    event = Event.objects.get(type="domain.active")

    # Called in place the task raises instead of retrying; in a worker, autoretry retries it with back-off, forever.
    with pytest.raises(ConnectionRefusedError):
        email_event(str(event.pk))
    assert OSError in email_event.autoretry_for and email_event.max_retries is None and email_event.acks_late


def test_alice_turns_domain_emails_off_and_on_again_in_the_web_ui(client, alice):
    client.force_login(alice)
    page = client.get("/notifications/email/")
    assert page.status_code == 200 and "checked" in page.content.decode()

    client.post("/notifications/email/", {})
    assert EmailPreference.objects.get(user=alice).domain_emails is False
    assert "checked" not in client.get("/notifications/email/").content.decode()

    client.post("/notifications/email/", {"domain_emails": "on"})
    assert EmailPreference.objects.get(user=alice).domain_emails is True


@pytest.fixture
def portal_dns(dns_server, settings):
    """The portal's DNS checks asking the loopback devdns server."""
    from domains.dns import get_checker

    settings.DNS_RESOLVERS = [dns_server.address]
    settings.DNS_NAMESERVER_PORT = dns_server.port
    settings.DNS_ALLOW_PRIVATE_NAMESERVERS = True
    settings.DNS_TIMEOUT = 0.3
    get_checker.cache_clear()
    yield dns_server
    get_checker.cache_clear()


def test_an_idn_domains_mail_names_it_in_unicode_with_the_ascii_form_once(smtp_server, portal_dns, alice, acme):
    from domains.services import domain_check

    domain = domain_create(user=alice, workspace=acme, hostname="fotos.bücher.de")
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    portal_dns.add("www.xn--bcher-kva.de", "A", "192.0.2.1")  # the zone exists; fotos does not
    domain_check(domain=domain)  # active → misconfigured, with the check's message as the reason

    send("domain.misconfigured")

    ((_, message),) = smtp_server.messages
    # A long encoded subject starts on a folded line; mail programs drop the fold's space, as strip() does.
    assert message["Subject"].strip() == "fotos.bücher.de needs attention: its DNS or certificate is no longer right"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "fotos.bücher.de (fotos.xn--bcher-kva.de) does not exist in DNS yet" in body
        assert body.count("xn--") == 1


def test_an_event_without_the_unicode_name_is_still_mailed_with_it(smtp_server, alice, acme):
    event = Event.objects.create(
        workspace=acme,
        hostname="fotos.xn--bcher-kva.de",
        type="domain.active",
        payload={"type": "domain.active", "data": {"status": "active", "previous_status": "provisioning"}},
    )

    email_event(str(event.pk))

    ((_, message),) = smtp_server.messages
    assert message["Subject"] == "fotos.bücher.de is live"
