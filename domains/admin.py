"""The support-staff admin for domains and the edge outbox.

Every change goes through a service, which checks the staff member's
permission and records an event with them; the admin never edits a domain's
fields directly. Staff without a model's view permission do not see it, and
actions need the change permission.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from domains import selectors, services
from domains.admin_idn import HostnameAdminMixin
from domains.edge import store as edge_store
from domains.edge.shards import edge_shard_status
from domains.edge.states import EdgeSync
from domains.errors import DomainError, NotAllowed
from domains.hostnames import to_unicode_with_ascii
from domains.models import CdnTenant, Domain, DomainCheck, DomainEvent, EdgeOutbox, HostnameBlock
from domains.services.lifecycle import STAFF_PERMISSION
from portal.admin import ReadOnlyTabularInline
from workspaces.roles import is_support_staff

RECENT_ROWS = 20


class EdgeStateFilter(admin.SimpleListFilter):
    title = "edge state"
    parameter_name = "edge_state"

    def lookups(self, request, model_admin):
        return EdgeSync.choices

    def queryset(self, request, queryset):
        if self.value() in EdgeSync.values:
            return queryset.filter(edge_state=self.value())
        return queryset


class RecentFormSet(BaseInlineFormSet):
    """Only the newest rows: a domain checked for years has thousands."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            qs = super().get_queryset()[:RECENT_ROWS]
            list(qs)  # evaluate once; the formset indexes into it
            self._recent = qs
        return self._recent


class ReadOnlyInline(ReadOnlyTabularInline):
    formset = RecentFormSet
    show_change_link = False


class DomainCheckInline(ReadOnlyInline):
    model = DomainCheck
    verbose_name_plural = f"recent checks (newest {RECENT_ROWS})"
    fields = ["checked_at", "outcome", "manual", "message", "duration_ms"]
    readonly_fields = fields
    ordering = ["-checked_at", "-id"]


class DomainEventInline(ReadOnlyInline):
    model = DomainEvent
    verbose_name_plural = f"recent events (newest {RECENT_ROWS})"
    fields = ["created_at", "from_status", "to_status", "actor_kind", "actor_user", "reason"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user")


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label="Internal note",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="For staff only: recorded in each domain's history and the block; the tenant never sees it.",
    )
    tenant_message = forms.CharField(
        label="Message to the tenant",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional; shown on the tenant's domain page. Empty shows a neutral default asking them "
        "to contact support.",
    )


def _run(modeladmin, request, queryset, verb: str, service, **arguments) -> None:
    """Call a staff service on each selected domain; report what worked and each refusal."""
    done = 0
    for domain in queryset.select_related("workspace"):
        try:
            service(staff_user=request.user, domain=domain, **arguments)
            done += 1
        except (DomainError, NotAllowed, Domain.DoesNotExist) as exc:
            modeladmin.message_user(
                request, f"{to_unicode_with_ascii(domain.hostname)}: {exc or 'no longer exists'}", messages.WARNING
            )
    if done:
        modeladmin.message_user(request, f"{verb} {done} domain{'s' if done != 1 else ''}.", messages.SUCCESS)


def _action_form(modeladmin, request, template: str, *, title: str, verb: str, form, **selection) -> TemplateResponse:
    """The page an action shows to ask for its form before it runs (templates/admin/domains/action_form.html)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "verb": verb,
        "action": request.POST.get("action", ""),
        "opts": modeladmin.model._meta,
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        **selection,
    }
    return TemplateResponse(request, f"admin/domains/{template}", context)


def _staff_action(service, verb: str, description: str):
    """An admin action that calls a staff service on each selected domain."""

    @admin.action(description=description, permissions=["manage"])
    def action(modeladmin, request, queryset):
        _run(modeladmin, request, queryset, verb, service)

    return action


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _shard_line(hostname: str) -> str:
    """The edge's host map for one hostname: its shard, the shard's versions, and whether it holds the hostname."""
    shard = edge_shard_status(hostname)
    if shard["error"]:
        live = format_html("could not read it: {}", shard["error"])
    elif shard["live_version"] is None:
        live = format_html("{}", "DynamoDB has no such shard item")
    else:
        live = format_html(
            "DynamoDB has version {} with {} hostnames, <strong>{}</strong>",
            shard["live_version"],
            shard["live_hosts"],
            f"holding this hostname for {shard['live_workspace_id']}" if shard["in_shard"] else "without this hostname",
        )
    return format_html(
        "Host map: shard <strong>{}</strong> of {} (<code>{}</code>), version {} written{}; {}",
        shard["index"],
        shard["count"],
        shard["key"],
        shard["written_version"] if shard["written_version"] is not None else "none",
        ", a rebuild is pending" if shard["pending"] else "",
        live,
    )


@admin.register(Domain)
class DomainAdmin(HostnameAdminMixin, ReadOnlyAdmin):
    list_display = [
        "name_display",
        "workspace",
        "status",
        "last_check_outcome",
        "edge_state_display",
        "certificate_display",
        "created_at",
    ]
    list_filter = ["status", "is_apex", EdgeStateFilter]
    search_fields = ["hostname", "display_hostname", "workspace__name", "workspace__public_id"]
    list_select_related = ["workspace", "cdn_tenant"]
    date_hierarchy = "created_at"
    ordering = ["display_hostname"]  # as people read the names, not by punycode
    fieldsets = [
        (None, {"fields": ["hostname", "display_hostname", "workspace", "status", "is_apex", "created_by"]}),
        ("DNS proof", {"fields": ["token", "target", "verify_record_name"]}),
        (
            "Schedule",
            {
                "fields": [
                    "next_check_at",
                    "last_checked_at",
                    "last_check_outcome",
                    "last_manual_check_at",
                    "pending_since",
                    "verified_at",
                    "grace_until",
                ]
            },
        ),
        ("What the edge sees", {"fields": ["edge_version", "edge_panel"]}),
        ("HTTPS (CloudFront)", {"fields": ["cloudfront_panel"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]
    # Every field shown is read-only (the actions below are how staff change a domain).
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [DomainCheckInline, DomainEventInline]
    actions = ["check_now", "resync_to_edge", "reprovision", "suspend", "unsuspend", "retry"]

    def get_queryset(self, request):
        return selectors.annotate_edge_state(super().get_queryset(request))

    # Domains are added by tenants and removed through services (which tombstone the edge);
    # no field is edited by hand (a stale form could undo a worker's status change), so the
    # admin is read-only and the change permission unlocks the actions instead.
    def has_manage_permission(self, request) -> bool:
        return is_support_staff(request.user, permission=STAFF_PERMISSION)

    @admin.display(description="hostname", ordering="display_hostname")
    def name_display(self, domain: Domain) -> str:
        """The Unicode name, with the ASCII form DNS uses when it differs."""
        return to_unicode_with_ascii(domain.hostname)

    @admin.display(description="edge state", ordering="edge_state")
    def edge_state_display(self, domain: Domain) -> str:
        state = getattr(domain, "edge_state", None)
        return EdgeSync(state).label if state in EdgeSync.values else "—"

    @admin.display(description="certificate", ordering="cdn_tenant__certificate_status")
    def certificate_display(self, domain: Domain) -> str:
        tenant = selectors.domain_cdn_tenant(domain=domain)
        return tenant.get_certificate_status_display() if tenant and tenant.certificate_status else "—"

    @admin.display(description="CloudFront tenant")
    def cloudfront_panel(self, domain: Domain) -> str:
        if domain is None or domain.pk is None:
            return "—"
        tenant = selectors.domain_cdn_tenant(domain=domain)
        if tenant is None:
            return "No distribution tenant (HTTPS through CloudFront is off, or DNS was never proven)."
        rows = [
            ("tenant id", tenant.tenant_id or "(not created yet)"),
            ("name", tenant.name),
            ("goal", f"{tenant.get_goal_display()} (revision {tenant.revision})"),
            ("enabled", {True: "yes", False: "no", None: "unknown"}[tenant.enabled]),
            ("certificate", tenant.get_certificate_status_display() if tenant.certificate_status else "none yet"),
            ("certificate ARN", tenant.certificate_arn or "—"),
            ("attached", "yes" if tenant.certificate_attached else "no"),
            ("issued at", tenant.certificate_issued_at or "—"),
            ("problem shown to the tenant", tenant.problem or "—"),
            (
                "pending work",
                ", ".join(
                    text
                    for flag, text in (
                        (tenant.request_certificate, "request a new certificate"),
                        (tenant.invalidate, "invalidate the cache"),
                    )
                    if flag
                )
                or "—",
            ),
            ("next step", tenant.next_attempt_at or "none scheduled"),
            ("failed calls in a row", tenant.attempts),
            ("last error", tenant.last_error or "—"),
            ("deleted at CloudFront", tenant.deleted_at or "—"),
            ("last read from CloudFront", tenant.synced_at or "never"),
        ]
        return format_html(
            '<table class="cloudfront-panel"><tbody>{}</tbody></table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="what the edge sees")
    def edge_panel(self, domain: Domain) -> str:
        if domain is None or domain.pk is None:
            return "—"
        status = selectors.domain_edge_status(domain=domain)
        expected = {
            "host": domain.hostname,
            "workspace_id": domain.workspace.public_id,
            "state": status["expected_item_state"] or "(no item)",
            "version": domain.edge_version or "—",
        }
        try:
            item = edge_store.get_item(domain.hostname)
            live_error = None
        except Exception as exc:  # any endpoint trouble is shown, never a 500 on the page
            item, live_error = None, f"{exc.__class__.__name__}: {exc}"
        keys = ["host", "workspace_id", "state", "version", "updated_at", "expires_at"]
        if live_error:
            live_cells = {k: "" for k in keys}
        elif item is None:
            live_cells = {k: "(no item)" if k == "host" else "" for k in keys}
        else:
            live_cells = {k: item.get(k, "") for k in keys}
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    k,
                    expected.get(k, ""),
                    live_cells[k],
                    ""
                    if k not in expected or live_error or item is None or str(expected[k]) == str(live_cells[k])
                    else "differs",
                )
                for k in keys
            ),
        )
        sync = format_html(
            "Outbox: <strong>{}</strong>, newest version {}, delivered {}, attempts {}{}",
            status["state"],
            status["version"],
            status["delivered_at"] or "not yet",
            status["attempts"],
            format_html(", last error: {}", status["last_error"]) if status["last_error"] else "",
        )
        error = (
            format_html('<p class="errornote">Could not read the edge table: {}</p>', live_error) if live_error else ""
        )
        return format_html(
            '{}<table class="edge-panel"><thead><tr><th></th><th>database says</th><th>DynamoDB has (live)</th><th></th></tr>'
            "</thead><tbody>{}</tbody></table><p>{}</p><p>{}</p>",
            error,
            rows,
            sync,
            _shard_line(domain.hostname),
        )

    # --- actions: each through a service that records an event with the staff user ---

    # Queued, like the web UI's: each domain's recent checks show the result within seconds.
    check_now = _staff_action(services.domain_check_by_staff, "Queued a DNS check of", "Check DNS now")
    resync_to_edge = _staff_action(services.domain_resync_edge, "Resynced", "Resync to edge")
    reprovision = _staff_action(
        services.domain_reprovision, "Re-provisioned", "Re-provision HTTPS (CloudFront tenant and certificate)"
    )
    unsuspend = _staff_action(services.domain_unsuspend, "Unsuspended", "Unsuspend (back to pending)")
    retry = _staff_action(services.domain_retry_by_staff, "Retried", "Retry failed domains (back to pending)")

    @admin.action(description="Suspend (asks for a reason)", permissions=["manage"])
    def suspend(self, request, queryset):
        form = SuspendForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            _run(
                self,
                request,
                queryset,
                "Suspended",
                services.domain_suspend,
                reason=form.cleaned_data["reason"],
                tenant_message=form.cleaned_data["tenant_message"],
            )
            return None
        return _action_form(
            self, request, "suspend.html", title="Suspend domains", verb="Suspend", form=form, domains=queryset
        )


class BlockInForceFilter(admin.SimpleListFilter):
    title = "block"
    parameter_name = "block"

    def lookups(self, request, model_admin):
        return [("in_force", "In force"), ("lifted", "Lifted")]

    def queryset(self, request, queryset):
        if self.value() == "in_force":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class LiftBlockForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the block; a suspended domain the tenant kept goes back to pending.",
    )


@admin.register(HostnameBlock)
class HostnameBlockAdmin(HostnameAdminMixin, ReadOnlyAdmin):
    """Hostnames support blocked by suspending a domain; a block outlives the domain until support lifts it."""

    list_display = [
        "hostname_shown",
        "in_force",
        "workspace",
        "reason",
        "blocked_by",
        "blocked_at",
        "lifted_by",
        "lifted_at",
        "lift_reason",
    ]
    list_filter = [BlockInForceFilter]
    search_fields = ["hostname", "reason", "workspace__name", "workspace__public_id"]
    list_select_related = ["workspace", "blocked_by", "lifted_by"]
    actions = ["lift"]

    def has_manage_permission(self, request) -> bool:
        return is_support_staff(request.user, permission=STAFF_PERMISSION)

    @admin.display(description="in force", boolean=True, ordering="lifted_at")
    def in_force(self, block: HostnameBlock) -> bool:
        return block.is_active

    @admin.action(description="Lift the block (asks for a reason)", permissions=["manage"])
    def lift(self, request, queryset):
        form = LiftBlockForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            done = 0
            for block in queryset:
                try:
                    services.hostname_block_lift(
                        staff_user=request.user, block=block, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except (DomainError, NotAllowed) as exc:
                    self.message_user(request, f"{to_unicode_with_ascii(block.hostname)}: {exc}", messages.WARNING)
            if done:
                self.message_user(request, f"Lifted {done} block{'s' if done != 1 else ''}.", messages.SUCCESS)
            return None
        return _action_form(
            self, request, "lift_block.html", title="Lift blocks", verb="Lift", form=form, blocks=queryset
        )


class UndeliveredFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("undelivered", "Undelivered"), ("failing", "Failing (attempted)"), ("delivered", "Delivered")]

    def queryset(self, request, queryset):
        if self.value() == "undelivered":
            return queryset.filter(delivered_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(delivered_at__isnull=True, attempts__gt=0)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(EdgeOutbox)
class EdgeOutboxAdmin(HostnameAdminMixin, ReadOnlyAdmin):
    list_display = [
        "hostname_shown",
        "state",
        "version",
        "workspace_public_id",
        "created_at",
        "delivered_at",
        "attempts",
        "last_error",
        "next_attempt_at",
    ]
    list_filter = [UndeliveredFilter, "state"]
    search_fields = ["hostname", "workspace_public_id"]
    ordering = ["-id"]


@admin.register(CdnTenant)
class CdnTenantAdmin(HostnameAdminMixin, ReadOnlyAdmin):
    """Each domain's CloudFront distribution tenant: its goal, what CloudFront said last, and pending work.

    Rows outlive their domain (a deleted domain's tenant is still disabled and deleted).
    """

    list_display = [
        "hostname_shown",
        "tenant_id",
        "goal",
        "enabled",
        "certificate_status",
        "certificate_attached",
        "certificate_issued_at",
        "problem",
        "attempts",
        "last_error",
        "next_attempt_at",
        "deleted_at",
    ]
    list_filter = ["goal", "certificate_status", "certificate_attached"]
    search_fields = ["hostname", "tenant_id", "name", "workspace_public_id"]
    ordering = ["-updated_at"]


@admin.register(DomainEvent)
class DomainEventAdmin(HostnameAdminMixin, ReadOnlyAdmin):
    list_display = ["created_at", "hostname_shown", "from_status", "to_status", "actor_kind", "actor_user", "reason"]
    list_filter = ["actor_kind", "to_status"]
    search_fields = ["hostname", "reason"]
    list_select_related = ["actor_user"]
    date_hierarchy = "created_at"
