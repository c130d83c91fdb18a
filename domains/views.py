"""The tenant web UI: thin views over the domain services and selectors.

Reads are scoped through the selectors (another workspace's domain is a 404);
every write goes through a service, which checks the role again (a member's
POST is a 403 even though the buttons are not shown to them). The services'
refusals reach the person through one mapping, `shows_refusals`.
"""

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from domains import presenters, selectors, services
from domains.errors import (
    CheckRateLimited,
    DomainError,
    HostnameTaken,
    InvalidHostname,
    WorkspaceLimitReached,
)
from domains.forms import DomainAddForm, DomainDeleteForm
from domains.hostnames import to_unicode
from domains.models import Domain, DomainCheck, DomainStatus
from workspaces.models import Workspace
from workspaces.roles import NotAllowed, can_manage, membership_of, require_manager
from workspaces.selectors import workspaces_for_user
from workspaces.session import acting_workspace, current_workspace, switch_workspace

# How often an open domain page asks for its status while it is still changing.
POLL_INTERVAL_MS = 3000
# How often "Check now" looks for its result while it waits.
CHECK_WAIT_STEP_SECONDS = 0.1
# Completes "Only the workspace's owners and admins can …" on the 403 page.
MANAGE_DOMAINS = "change its domains; ask one of them"


def shows_refusals(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The one mapping from the services' refusals to what the person sees.

    NotAllowed is the 403 page with its reason. A rate-limited check is a
    warning with the wait, and any other DomainError an error message, both
    back on the domain's page (the list when the view has no domain). The add
    form shows its own refusals on the hostname field instead.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotAllowed as refusal:
            raise PermissionDenied(str(refusal)) from None
        except CheckRateLimited as refusal:
            messages.warning(request, f"Checked a moment ago; try again in {refusal.retry_after_seconds} s.")
        except DomainError as refusal:
            messages.error(request, str(refusal))
        if "domain_id" in kwargs:
            return redirect("domains:detail", domain_id=kwargs["domain_id"])
        return redirect("domains:list")

    return wrapped


def _can_manage(request: HttpRequest, workspace: Workspace) -> bool:
    return can_manage(membership_of(user=request.user, workspace=workspace))


def _require_manager(request: HttpRequest, workspace: Workspace) -> None:
    require_manager(user=request.user, workspace=workspace, action=MANAGE_DOMAINS)


def _domain_or_404(request: HttpRequest, domain_id) -> Domain:
    """The domain if it belongs to one of the user's workspaces; that workspace becomes current."""
    current = current_workspace(request)
    candidates = [
        current,
        *(w for w in workspaces_for_user(request.user) if current and w.pk != current.pk),
    ]
    for workspace in candidates:
        if workspace is None:
            continue
        try:
            domain = selectors.domain_get(user=request.user, workspace=workspace, domain_id=domain_id)
        except Domain.DoesNotExist:
            continue
        if workspace != current:
            # A teammate's link into another of the user's workspaces: follow it.
            switch_workspace(request, workspace.pk)
        return domain
    raise Http404("No such domain in your workspaces.")


def _managed_domain_or_404(request: HttpRequest, domain_id) -> Domain:
    """The domain, as _domain_or_404 finds it, when the user may change it; NotAllowed otherwise."""
    domain = _domain_or_404(request, domain_id)
    _require_manager(request, domain.workspace)
    return domain


def _edge_state(domain: Domain) -> str | None:
    return (selectors.domain_edge_status(domain=domain) or {}).get("state")


def _status_context(request: HttpRequest, domain: Domain) -> dict:
    edge_state = _edge_state(domain)
    now = timezone.now()
    last_check = selectors.domain_last_check(domain=domain)
    tenant = selectors.domain_cdn_tenant(domain=domain)
    steps = presenters.https_steps(domain, tenant)
    events = list(selectors.domain_events(domain=domain)[:50])
    failure_reason = next((e.reason for e in events if e.to_status == DomainStatus.FAILED), "")
    return {
        # Changes only when something worth announcing changed (see portal.js).
        "signature": "|".join(
            [domain.status, str(edge_state), str(last_check.pk if last_check else ""), *(s.state for s in steps)]
        ),
        "domain": domain,
        "https_steps": steps,
        "certificate": presenters.certificate_view(domain, tenant),
        "can_manage": _can_manage(request, domain.workspace),
        "status_text": (
            presenters.suspension_text(domain)
            if domain.status == DomainStatus.SUSPENDED
            else presenters.status_text(domain.status, failure_reason=failure_reason, edge_state=edge_state)
        ),
        "support_url": settings.SUPPORT_URL,
        "edge_state": edge_state,
        "edge_text": presenters.edge_text(edge_state, domain.status),
        "last_check": presenters.describe_check(last_check),
        "last_checked_text": presenters.ago_text(domain.last_checked_at, now=now),
        "next_check_text": presenters.next_check_text(domain, now=now),
        "poll": presenters.should_poll(domain, edge_state),
        "events": [{"at": event.created_at, "text": presenters.describe_event(event)} for event in events],
    }


@login_required
@require_GET
def domain_list(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        return render(request, "domains/no_workspace.html")
    domains = selectors.annotate_edge_state(selectors.domain_list(user=request.user, workspace=workspace))
    now = timezone.now()
    rows = [
        {
            "domain": domain,
            "last_checked_text": presenters.ago_text(domain.last_checked_at, now=now),
            "last_check": presenters.describe_check(selectors.domain_last_check(domain=domain)),
            "next_check_text": presenters.next_check_text(domain, now=now),
            "edge_text": presenters.edge_text(getattr(domain, "edge_state", None), domain.status),
        }
        for domain in presenters.sorted_for_people(domains)
    ]
    return render(
        request,
        "domains/list.html",
        {
            "workspace": workspace,
            "rows": rows,
            "can_manage": _can_manage(request, workspace),
            "read_only_notice": presenters.READ_ONLY_NOTICE,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@shows_refusals
def domain_add(request: HttpRequest) -> HttpResponse:
    workspace = acting_workspace(request)
    _require_manager(request, workspace)
    form = DomainAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.domain_create(
                user=request.user,
                workspace=workspace,
                hostname=form.cleaned_data["hostname"],
            )
        except (InvalidHostname, WorkspaceLimitReached, HostnameTaken) as refusal:
            form.add_error("hostname", str(refusal))
        else:
            messages.success(
                request,
                f"{domain.display_hostname} was added. Create the DNS {'records' if domain.is_apex else 'record'} below to connect it.",
                # Shown while the domain waits for DNS; the live page drops it once the status moves on.
                extra_tags=presenters.while_status_tag(DomainStatus.PENDING),
            )
            return redirect("domains:detail", domain_id=domain.pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "domains/add.html",
        {
            "workspace": workspace,
            "form": form,
            "count": selectors.domain_list(user=request.user, workspace=workspace).count(),
            "max_domains": settings.MAX_DOMAINS_PER_WORKSPACE,
        },
        status=status,
    )


# The parts of a domain page that depend on its status, each in an element
# with data-live-part="<key>"; the page and its polling render the same partials.
LIVE_PARTS = {
    "status": "domains/_status.html",
    "meta": "domains/_status_meta.html",
    "events": "domains/_events.html",
    "records_intro": "domains/_records_intro.html",
    "records_tips": "domains/_records_tips.html",
    # What was announced (the notifications app's card): a status change adds an event and its deliveries.
    "notifications": "domains/_notifications.html",
}


def _page_context(request: HttpRequest, domain: Domain) -> dict:
    """Everything the domain page and its live parts show."""
    context = _status_context(request, domain)
    records = presenters.dns_records(domain, apex_addresses=settings.EDGE_APEX_ADDRESSES)
    zone, _ = presenters.zone_and_label(domain.hostname, domain.hostname)
    context.update(
        records=records,
        zone=to_unicode(zone),  # read by people; the records keep the ASCII names DNS uses
        relative_example=records[0].relative_name,
        full_example=records[0].name,
        poll_interval_ms=POLL_INTERVAL_MS,
        read_only_notice=presenters.READ_ONLY_NOTICE,
    )
    return context


@login_required
@require_GET
def domain_detail(request: HttpRequest, domain_id) -> HttpResponse:
    domain = _domain_or_404(request, domain_id)
    return render(request, "domains/detail.html", _page_context(request, domain))


@never_cache
@login_required
@require_GET
def domain_status(request: HttpRequest, domain_id) -> JsonResponse:
    """The page's status-dependent parts as HTML, for its polling script."""
    domain = _domain_or_404(request, domain_id)
    if domain.status == DomainStatus.PENDING:
        # Someone is watching: check within seconds rather than on the back-off schedule.
        services.domain_expedite_check(domain=domain)
        domain.refresh_from_db()
    context = _page_context(request, domain)
    parts = {key: render_to_string(template, context, request=request) for key, template in LIVE_PARTS.items()}
    return JsonResponse(
        {
            "status": domain.status,
            "status_display": domain.get_status_display(),
            "poll": context["poll"],
            "signature": context["signature"],
            "parts": parts,
            "status_html": parts["status"],
            "meta_html": parts["meta"],
            "events_html": parts["events"],
        }
    )


@login_required
@require_POST
@shows_refusals
def domain_check_now(request: HttpRequest, domain_id) -> HttpResponse:
    """Queue a check and wait a moment for it (DOMAIN_CHECK_NOW_WAIT), never for the whole check.

    A slow DNS (up to DNS_CHECK_DEADLINE) costs the request nothing: the page
    says the check is under way and its live status shows the result.
    """
    domain = _managed_domain_or_404(request, domain_id)
    queued = services.domain_check_queue(user=request.user, domain=domain)
    check = _check_within(domain, after=queued.previous_check_id, seconds=settings.DOMAIN_CHECK_NOW_WAIT)
    if check is None:
        messages.info(request, "Checking DNS now; the result appears on this page in a few seconds.")
    else:
        domain.refresh_from_db()
        described = presenters.describe_check(check)
        messages.info(
            request,
            f"Checked just now: {described['headline']} Status: {domain.get_status_display()}.",
        )
    return redirect("domains:detail", domain_id=domain.pk)


def _check_within(domain: Domain, *, after: int | None, seconds: float) -> DomainCheck | None:
    """The domain's first check newer than `after`, looked for until `seconds` have passed."""
    give_up = time.monotonic() + seconds
    while True:
        check = services.domain_check_after(domain=domain, check_id=after)
        if check is not None or time.monotonic() >= give_up:
            return check
        time.sleep(CHECK_WAIT_STEP_SECONDS)


@login_required
@require_POST
@shows_refusals
def domain_retry(request: HttpRequest, domain_id) -> HttpResponse:
    domain = _managed_domain_or_404(request, domain_id)
    services.domain_retry(user=request.user, domain=domain)
    messages.success(
        request,
        "Checking again: the domain is pending and will go live as soon as the record is found.",
    )
    return redirect("domains:detail", domain_id=domain.pk)


@login_required
@require_http_methods(["GET", "POST"])
@shows_refusals
def domain_delete(request: HttpRequest, domain_id) -> HttpResponse:
    domain = _managed_domain_or_404(request, domain_id)
    form = DomainDeleteForm(request.POST or None, domain=domain)
    if request.method == "POST" and form.is_valid():
        services.domain_delete(user=request.user, domain=domain)
        messages.success(
            request,
            f"{domain.display_hostname} was deleted; it stops serving your workspace within minutes.",
        )
        return redirect("domains:list")
    return render(
        request,
        "domains/delete.html",
        {"domain": domain, "form": form},
        status=400 if form.errors else 200,
    )
