"""Every write to a domain, split by concern; callers import the public names from here.

- lifecycle: added, deleted, retried, and domain_transition, the one path every status change takes
- checks:    claiming due checks, asking DNS, and what a result does to the domain
- schedule:  when a domain is checked next (pure arithmetic)
- provisioning: HTTPS through CloudFront: each domain's distribution tenant converged to its goal (steps, sweep)
- staff:     what support staff do (suspend, unsuspend, lift a hostname's block, retry, check, resync, re-provision)

Services called by people check who may act (workspaces.roles); the ones the
system calls (domain_transition, domain_check, the claims, the CloudFront steps) trust their callers.
"""

from domains.services.checks import (
    CheckQueued,
    domain_check,
    domain_check_after,
    domain_check_claim,
    domain_check_claimed,
    domain_check_now,
    domain_check_queue,
    domain_check_queued,
    domain_checks_claim_due,
    domain_expedite_check,
)
from domains.services.lifecycle import (
    BLOCKED_MESSAGE,
    OTHER_PROVED_MESSAGE,
    SYSTEM,
    TAKEN_MESSAGE,
    Actor,
    domain_create,
    domain_delete,
    domain_retry,
    domain_transition,
)
from domains.services.provisioning import cdn_step, cdn_sweep, certificate_problem
from domains.services.staff import (
    domain_check_by_staff,
    domain_reprovision,
    domain_resync_edge,
    domain_retry_by_staff,
    domain_suspend,
    domain_unsuspend,
    hostname_block_lift,
)

__all__ = [
    "BLOCKED_MESSAGE",
    "OTHER_PROVED_MESSAGE",
    "SYSTEM",
    "TAKEN_MESSAGE",
    "Actor",
    "CheckQueued",
    "cdn_step",
    "cdn_sweep",
    "certificate_problem",
    "domain_check",
    "domain_check_after",
    "domain_check_by_staff",
    "domain_check_claim",
    "domain_check_claimed",
    "domain_check_now",
    "domain_check_queue",
    "domain_check_queued",
    "domain_checks_claim_due",
    "domain_create",
    "domain_delete",
    "domain_expedite_check",
    "domain_reprovision",
    "domain_resync_edge",
    "domain_retry",
    "domain_retry_by_staff",
    "domain_suspend",
    "domain_transition",
    "domain_unsuspend",
    "hostname_block_lift",
]
