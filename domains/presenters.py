"""Turn domains, checks and events into what the tenant web UI says about them.

Plain functions of model rows: the views stay thin and the wording lives in
one place the template tests can pin down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from domains.edge.states import EdgeSync
from domains.hostnames import registrable_domain
from domains.models import (
    SERVABLE_STATUSES,
    CheckOutcome,
    Domain,
    DomainCheck,
    DomainEvent,
    DomainStatus,
)

# Statuses whose page keeps refreshing its status block: something is expected
# to change soon without the tenant doing anything in the portal.
LIVE_STATUSES = frozenset({DomainStatus.PENDING, DomainStatus.MISCONFIGURED})
LIVE_EDGE_STATES = frozenset({EdgeSync.SYNCING})

STATUS_TEXT = {
    DomainStatus.PENDING: "Waiting for DNS: create the DNS record shown below. We check automatically and the domain goes live as soon as the record is found.",
    DomainStatus.ACTIVE: "Live: DNS is set up correctly and this domain serves your workspace.",
    DomainStatus.MISCONFIGURED: "DNS changed: the record is no longer correct. The domain keeps serving for a grace period; fix the record below to keep it live.",
    DomainStatus.FAILED: "Stopped: no correct record was found in time. Fix the DNS record shown below, then press Retry.",
    DomainStatus.SUSPENDED: "Suspended by VE.AI support. Contact support to bring it back.",
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


def status_text(status: str) -> str:
    return STATUS_TEXT.get(status, "")


def edge_text(edge_state: str | None, status: str | None = None) -> str:
    """What the edge does with the domain, when that adds to its status."""
    if edge_state == EdgeSync.NOT_SERVED and status not in SERVABLE_STATUSES:
        return ""  # a pending or failed domain is obviously not served
    return EDGE_TEXT.get(edge_state or "", "")


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
    name, rtype, status = (
        hop.get("name", ""),
        hop.get("type", ""),
        hop.get("status", ""),
    )
    records = hop.get("records") or []
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
    by = f" (by {who})" if event.actor_user or event.actor_kind == "staff" else ""
    return f"{change}{reason}{by}"
