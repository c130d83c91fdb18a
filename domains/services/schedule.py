"""When a domain is checked next: pure arithmetic over the DOMAIN_* settings (no database, no I/O)."""

import math
import secrets
from datetime import datetime, timedelta

from django.conf import settings

from domains.models import Domain, DomainStatus


def pending_deadline(domain: Domain) -> datetime:
    """When a pending domain without DNS proof gives up and fails."""
    return (domain.pending_since or domain.created_at) + timedelta(seconds=settings.DOMAIN_PENDING_GIVE_UP)


def next_check_at(domain: Domain, *, now: datetime, transient: bool) -> datetime | None:
    """When the domain, in its (new) status, is due again; None when it is off the schedule."""
    retry = now + timedelta(seconds=settings.DOMAIN_TRANSIENT_RETRY)
    if domain.status == DomainStatus.PENDING:
        anchor = domain.pending_since or domain.created_at
        due = min(backoff_due(anchor, now), pending_deadline(domain))
    elif domain.status == DomainStatus.MISCONFIGURED:
        grace = timedelta(seconds=settings.DOMAIN_GRACE_PERIOD)
        grace_until = domain.grace_until or now + grace
        # Back-off counted from when it broke; the last check lands on the end of the grace.
        due = min(backoff_due(grace_until - grace, now), grace_until)
    elif domain.status == DomainStatus.ACTIVE:
        jitter = settings.DOMAIN_ACTIVE_RECHECK_JITTER
        seconds = settings.DOMAIN_ACTIVE_RECHECK_INTERVAL + (
            secrets.randbelow(2 * jitter + 1) - jitter if jitter else 0
        )
        due = now + timedelta(seconds=max(seconds, settings.DOMAIN_TRANSIENT_RETRY))
    else:
        return None
    if transient:
        due = min(due, retry)
    # A deadline that passed during a transient answer: keep asking until DNS answers.
    return due if due > now else retry


def backoff_due(anchor: datetime, now: datetime) -> datetime:
    """The next point of the back-off schedule counted from `anchor`, comfortably after `now`.

    Points: every fast interval until the fast window ends, then each step of
    DOMAIN_CHECK_BACKOFF in turn, the last step repeating. Computed from the
    anchor rather than from the previous check, so late or extra checks (a
    manual one, a worker outage) never push the schedule out.
    """
    fast = settings.DOMAIN_PENDING_FAST_INTERVAL
    # A check that ran late must not be followed by another one at once.
    elapsed = (now - anchor).total_seconds() + fast / 2
    if elapsed < settings.DOMAIN_PENDING_FAST_WINDOW:
        point = (math.floor(max(elapsed, 0) / fast) + 1) * fast
        return anchor + timedelta(seconds=min(point, settings.DOMAIN_PENDING_FAST_WINDOW))
    point = settings.DOMAIN_PENDING_FAST_WINDOW
    steps = settings.DOMAIN_CHECK_BACKOFF or [fast]
    for step in steps:
        point += step
        if point > elapsed:
            return anchor + timedelta(seconds=point)
    last = steps[-1]
    point += (math.floor((elapsed - point) / last) + 1) * last
    return anchor + timedelta(seconds=point)
