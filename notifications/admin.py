"""Support reads the domain event outbox here; nothing in it is edited by hand."""

from django.contrib import admin

from domains.admin_idn import HostnameAdminMixin, HostnameSearchMixin
from notifications.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(Event)
class EventAdmin(HostnameAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "type", "hostname_shown", "workspace"]
    list_filter = ["type"]
    search_fields = ["hostname", "=id"]
    list_select_related = ["workspace"]
    readonly_fields = ["id", "created_at", "type", "hostname_shown", "workspace", "domain", "payload"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "status_code", "latency_ms", "error", "excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Support sees where each workspace's events go and whether it fails; the secret is never shown."""

    list_display = ["url", "workspace", "enabled", "failing_since", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "workspace__name"]
    fields = ["id", "workspace", "url", "description", "events", "enabled", "disabled_reason", "failing_since"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(HostnameSearchMixin, admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["endpoint__url", "event__hostname"]
    list_select_related = ["event", "endpoint"]
    fields = [
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "last_status_code",
        "last_error",
        "delivered_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
