"""Turn domains, checks and events into what the tenant web UI says about them.

Plain functions of model rows: the views stay thin and the wording lives in
one place the template tests can pin down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format

from domains.cdn.intent import cdn_enabled
from domains.cdn.states import ISSUANCE_FAILED, NO_LONGER_VALID, CertificateStatus
from domains.edge.states import EdgeSync
from domains.hostnames import registrable_domain, to_unicode, to_unicode_with_ascii
from domains.models import (
    SERVABLE_STATUSES,
    CdnTenant,
    CheckOutcome,
    Domain,
    DomainCheck,
    DomainEvent,
    DomainStatus,
)
from domains.services.lifecycle import OTHER_PROVED_MESSAGE

# Statuses whose page keeps refreshing its status block: something is expected
# to change soon without the tenant doing anything in the portal.
LIVE_STATUSES = frozenset({DomainStatus.PENDING, DomainStatus.PROVISIONING, DomainStatus.MISCONFIGURED})
LIVE_EDGE_STATES = frozenset({EdgeSync.SYNCING})

STATUS_TEXT = {
    DomainStatus.PENDING: "Waiting for DNS: create the DNS record shown below. We check automatically and the domain goes live as soon as the record is found.",
    DomainStatus.PROVISIONING: "DNS record found. Your domain already serves your workspace over HTTP while its HTTPS certificate is issued; this usually takes a few minutes and needs nothing from you.",
    DomainStatus.ACTIVE: "Live: DNS is set up correctly and this domain serves your workspace.",
    DomainStatus.MISCONFIGURED: "DNS changed: the record is no longer correct. The domain keeps serving for a grace period; fix the record below to keep it live.",
    DomainStatus.FAILED: "Stopped: no correct record was found in time. Fix the DNS record shown below, then press Retry.",
    DomainStatus.SUSPENDED: "Suspended by VE.AI support.",
}

EDGE_TEXT = {
    EdgeSync.SERVING: "Serving visitors",
    EdgeSync.NOT_SERVED: "Not served",
    EdgeSync.SYNCING: "Going live at the edge…",
    EdgeSync.SYNC_FAILED: "Edge update delayed, retrying",
}

OUTCOME_HEADLINE = {
    CheckOutcome.VERIFIED: "DNS is set up correctly.",
    CheckOutcome.WRONG_TARGET: "The record points somewhere else.",
    CheckOutcome.MISSING: "The record was not found.",
    CheckOutcome.TOKEN_MISSING: "The verification TXT record was not found.",
    CheckOutcome.TRANSIENT: "We could not reach your DNS servers; we'll retry.",
}

OUTCOME_TONE = {
    CheckOutcome.VERIFIED: "ok",
    CheckOutcome.WRONG_TARGET: "bad",
    CheckOutcome.MISSING: "warn",
    CheckOutcome.TOKEN_MISSING: "warn",
    CheckOutcome.TRANSIENT: "info",
}


@dataclass(frozen=True)
class Record:
    """One DNS record the tenant has to create."""

    type: str
    name: str  # the full hostname
    relative_name: str  # the label a DNS provider's form asks for, "@" for the zone itself
    zone: str
    value: str
    purpose: str


def zone_and_label(name: str, hostname: str) -> tuple[str, str]:
    """(zone, relative label) of `name` inside the registrable domain of `hostname`."""
    zone = registrable_domain(hostname)
    if name == zone:
        return zone, "@"
    return zone, name.removesuffix("." + zone)


def dns_records(domain: Domain, *, apex_addresses: tuple[str, ...] | list[str] = ()) -> list[Record]:
    """The exact records that prove and connect the domain."""
    if not domain.is_apex:
        zone, label = zone_and_label(domain.hostname, domain.hostname)
        return [
            Record(
                "CNAME",
                domain.hostname,
                label,
                zone,
                domain.target,
                "Connects your domain to VE.AI.",
            )
        ]
    zone, txt_label = zone_and_label(domain.verify_record_name, domain.hostname)
    records = [
        Record(
            "TXT",
            domain.verify_record_name,
            txt_label,
            zone,
            domain.token,
            "Proves the domain is yours.",
        )
    ]
    for address in apex_addresses:
        kind = "AAAA" if ":" in address else "A"
        records.append(Record(kind, domain.hostname, "@", zone, address, "Sends visitors to VE.AI."))
    return records


# What the tenant reads about a suspension when support wrote no message of its own.
SUSPENSION_DEFAULT_MESSAGE = "Please contact support to find out more and to bring it back."


def suspension_message(domain: Domain) -> str:
    """Support's message to the tenant about a suspension, or a neutral default (never the internal note)."""
    return domain.suspension_message.strip() or SUSPENSION_DEFAULT_MESSAGE


def suspension_text(domain: Domain) -> str:
    """The tenant's words about a suspension, as the domain page and the API's events say them."""
    return f"Suspended by VE.AI support. {suspension_message(domain)}"


def while_status_tag(status: str) -> str:
    """A flash message's extra tag: shown while the domain has `status`; the live page drops it after."""
    return f"while-{status}"


ACTIVE_EDGE_SYNCING_TEXT = (
    "DNS is set up correctly. The edge starts serving this domain within seconds; this page updates by itself."
)


def status_text(status: str, *, failure_reason: str = "", edge_state: str | None = None) -> str:
    """One paragraph on where the domain stands; a failed domain says why it stopped when that is known.

    An active domain whose edge copy is still being written is not called "Live" yet.
    """
    if status == DomainStatus.ACTIVE and edge_state in LIVE_EDGE_STATES:
        return ACTIVE_EDGE_SYNCING_TEXT
    if status == DomainStatus.FAILED and failure_reason:
        if failure_reason == OTHER_PROVED_MESSAGE:
            return f"Stopped: {OTHER_PROVED_MESSAGE} If this hostname is yours, contact support."
        return f"Stopped: {failure_reason.rstrip('.')}. Fix the cause, then press Retry."
    return STATUS_TEXT.get(status, "")


def edge_text(edge_state: str | None, status: str | None = None) -> str:
    """What the edge does with the domain, when that adds to its status."""
    if edge_state == EdgeSync.NOT_SERVED and status not in SERVABLE_STATUSES:
        return ""  # a pending or failed domain is obviously not served
    return EDGE_TEXT.get(edge_state or "", "")


def sorted_for_people(domains) -> list[Domain]:
    """Domains in the order people read them: by their Unicode name, not the punycode DNS uses."""
    return sorted(domains, key=lambda domain: (domain.display_hostname or domain.hostname).casefold())


READ_ONLY_NOTICE = "You can view this workspace's domains; owners and admins make changes."


def should_poll(domain: Domain, edge_state: str | None = None) -> bool:
    """Whether the page keeps asking: the status may change, the edge is syncing, or a check is under way."""
    checking = domain.check_claimed_until is not None and domain.check_claimed_until > timezone.now()
    return domain.status in LIVE_STATUSES or (edge_state in LIVE_EDGE_STATES) or checking


def in_words(seconds: float) -> str:
    """A short duration as people say it: "12 s", "4 minutes", "3 hours"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = round(seconds / 86400)
    return f"{days} days"


def next_check_text(domain: Domain, *, now: datetime | None = None) -> str:
    """When the next automatic check happens, or why there is none."""
    now = now or timezone.now()
    if domain.status in (DomainStatus.FAILED, DomainStatus.SUSPENDED):
        return "No automatic checks while the domain is " + domain.get_status_display().lower() + "."
    if domain.check_claimed_until and domain.check_claimed_until > now:
        return "Checking now…"
    if domain.status == DomainStatus.PROVISIONING:
        return "The certificate is checked automatically; DNS checks resume once HTTPS is live."
    if domain.next_check_at is None:
        return "No automatic check is scheduled."
    if domain.next_check_at <= now:
        return "Next automatic check: due now."
    return f"Next automatic check in {in_words((domain.next_check_at - now).total_seconds())}."


def ago_text(when: datetime | None, *, now: datetime | None = None) -> str:
    if when is None:
        return "never"
    seconds = ((now or timezone.now()) - when).total_seconds()
    if seconds < 5:
        return "just now"
    return f"{in_words(seconds)} ago"


def _hop_sentence(hop: dict) -> str:
    # Hops are stored as DNS said them (ASCII); people read the Unicode name, its ASCII form after it.
    name, rtype, status = (
        to_unicode_with_ascii(hop.get("name", "")),
        hop.get("type", ""),
        hop.get("status", ""),
    )
    records = hop.get("records") or []
    if rtype == "CNAME":
        records = [to_unicode(record) for record in records]
    if status == "answer":
        return f"{name} has {rtype} {', '.join(records)}"
    if status == "nxdomain":
        return f"{name} does not exist"
    if status == "nodata":
        return f"{name} exists but has no {rtype} record"
    return f"no answer about {name} ({rtype}): {hop.get('error') or 'no server responded'}"


def describe_hops(found) -> list[dict]:
    """Each question the check asked, as a sentence with who answered."""
    hops = found.get("hops", []) if isinstance(found, dict) else (found or [])
    described = []
    for hop in hops:
        if not isinstance(hop, dict):
            continue
        server = hop.get("server")
        if hop.get("status") == "error":
            source = f"last tried {server}" if server else ""
        elif not hop.get("authoritative"):
            # Never the resolver's address: it is ours, not the tenant's.
            source = "answered by a resolver, not your DNS host"
        elif server:
            source = f"answered by {server}"
        else:
            source = ""
        described.append(
            {
                "sentence": _hop_sentence(hop),
                "source": source,
                "ok": hop.get("status") == "answer",
            }
        )
    return described


def describe_expected(expected) -> list[str]:
    """What the check looked for, one line per record."""
    if not isinstance(expected, dict):
        return []
    lines = []
    if cname := expected.get("cname"):
        lines.append(f"CNAME {cname.get('name')} → {cname.get('value')}")
    if txt := expected.get("txt"):
        lines.append(f"TXT {txt.get('name')} = {txt.get('value')}")
    if addresses := expected.get("addresses"):
        lines.append(f"A/AAAA {expected.get('hostname', '') or 'the domain'} → {', '.join(addresses)}")
    return lines


def describe_check(check: DomainCheck | None) -> dict | None:
    if check is None:
        return None
    outcome = check.outcome
    transient = outcome == CheckOutcome.TRANSIENT
    return {
        "outcome": outcome,
        "headline": OUTCOME_HEADLINE.get(outcome, check.get_outcome_display()),
        "tone": OUTCOME_TONE.get(outcome, "info"),
        # The checker's sentence for a transient failure is for engineers
        # (server, timeout); the headline already says what it means.
        "message": "" if transient else check.message,
        "technical": check.message if transient else "",
        "expected": describe_expected(check.expected),
        "hops": describe_hops(check.found),
        "checked_at": check.checked_at,
        "manual": check.manual,
    }


def describe_event(event: DomainEvent) -> str:
    who = (
        event.actor_user.get_username()
        if event.actor_user
        else {"system": "VE.AI", "staff": "VE.AI support"}.get(event.actor_kind, "")
    )
    if not event.from_status and event.to_status:
        return f"Added by {who}" if who else "Added"
    if not event.to_status:
        return f"Deleted by {who}"
    change = f"{event.from_status.capitalize()} → {event.to_status.capitalize()}"
    reason = f": {event.reason}" if event.reason else ""
    if event.actor_kind == "staff" and event.to_status == DomainStatus.SUSPENDED:
        reason = ""  # support's internal note stays with support
    by = f" (by {who})" if event.actor_user or event.actor_kind == "staff" else ""
    return f"{change}{reason}{by}"


# --- HTTPS: DNS record found → certificate issued → live over HTTPS -----------------------

STEP_LABELS = {"dns": "DNS record found", "certificate": "Certificate issued", "https": "Live over HTTPS"}


@dataclass(frozen=True)
class Step:
    """One step of a domain's way to HTTPS: `state` is done, current, todo or failed."""

    name: str
    label: str
    state: str
    detail: str = ""


def https_url(domain: Domain) -> str:
    return f"https://{domain.hostname}/"


def https_live(domain: Domain, tenant: CdnTenant | None) -> bool:
    """The domain is served over HTTPS: active, with its tenant enabled and its certificate issued and attached."""
    return domain.status in SERVABLE_STATUSES and tenant is not None and tenant.is_live and not tenant.problem


def https_steps(domain: Domain, tenant: CdnTenant | None) -> list[Step]:
    """Where the domain is on its way to HTTPS, step by step (empty while suspended, or with CloudFront off)."""
    if domain.status == DomainStatus.SUSPENDED or (tenant is None and not cdn_enabled()):
        return []
    certificate = tenant.certificate_status if tenant is not None else ""
    problem = tenant.problem if tenant is not None else ""
    issued_at = tenant.certificate_issued_at if tenant is not None else None
    issued = f"Issued {date_format(issued_at, 'DATETIME_FORMAT')} UTC." if issued_at else ""
    dns = Step("dns", STEP_LABELS["dns"], "done")
    if domain.status == DomainStatus.PENDING:
        dns = Step("dns", STEP_LABELS["dns"], "current", "Waiting for the record shown below.")
    elif domain.status == DomainStatus.FAILED and not problem:
        dns = Step("dns", STEP_LABELS["dns"], "failed", "No correct record was found.")
    elif domain.status == DomainStatus.MISCONFIGURED and not problem:
        dns = Step("dns", STEP_LABELS["dns"], "failed", "The record is no longer correct.")

    if certificate in ISSUANCE_FAILED or certificate in NO_LONGER_VALID or problem:
        cert = Step("certificate", STEP_LABELS["certificate"], "failed", problem or _certificate_label(certificate))
        if domain.status == DomainStatus.MISCONFIGURED and tenant is not None and tenant.request_certificate:
            cert = Step("certificate", STEP_LABELS["certificate"], "current", problem)
    elif certificate == CertificateStatus.ISSUED:
        cert = Step("certificate", STEP_LABELS["certificate"], "done", issued)
    elif domain.status == DomainStatus.PROVISIONING:
        detail = "The certificate authority is validating your domain through VE.AI."
        if tenant is not None and tenant.attempts:
            detail = "Setting up HTTPS is taking longer than usual; we keep trying automatically."
        cert = Step("certificate", STEP_LABELS["certificate"], "current", detail)
    else:
        cert = Step("certificate", STEP_LABELS["certificate"], "todo")

    if https_live(domain, tenant) and domain.status == DomainStatus.ACTIVE:
        https = Step("https", STEP_LABELS["https"], "done", https_url(domain))
    elif domain.status == DomainStatus.MISCONFIGURED and https_live(domain, tenant):
        https = Step("https", STEP_LABELS["https"], "done", "Still served during the grace period.")
    elif cert.state == "done" and domain.status == DomainStatus.PROVISIONING:
        https = Step("https", STEP_LABELS["https"], "current", "Putting the certificate in place at the edge…")
    else:
        https = Step("https", STEP_LABELS["https"], "todo")
    return [dns, cert, https]


def _certificate_label(status: str) -> str:
    return CertificateStatus(status).label if status in CertificateStatus.values else ""


def certificate_view(domain: Domain, tenant: CdnTenant | None) -> dict | None:
    """The domain's HTTPS certificate for the API and the pages; None when HTTPS through CloudFront is off."""
    if tenant is None and not cdn_enabled():
        return None
    return {
        "status": (tenant.certificate_status or None) if tenant is not None else None,
        "issued_at": tenant.certificate_issued_at if tenant is not None else None,
        "https_url": https_url(domain) if https_live(domain, tenant) else None,
        "problem": (tenant.problem or None) if tenant is not None else None,
        "steps": [
            {"name": step.name, "label": step.label, "state": step.state, "detail": step.detail}
            for step in https_steps(domain, tenant)
        ],
    }
