"""Support reads the domain event outbox here; nothing in it is edited by hand."""

from django.contrib import admin

from notifications.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "type", "hostname", "workspace"]
    list_filter = ["type"]
    search_fields = ["hostname", "=id"]
    list_select_related = ["workspace"]
    readonly_fields = ["id", "created_at", "type", "hostname", "workspace", "domain", "payload"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
