from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from domains.models import Domain
from portal.admin import ReadOnlyTabularInline
from workspaces.models import ApiKey, Membership, Workspace
from workspaces.services import api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class DomainInline(ReadOnlyTabularInline):
    model = Domain
    fields = ["hostname_link", "status", "last_check_outcome", "created_at"]
    readonly_fields = fields
    ordering = ["hostname"]

    @admin.display(description="hostname")
    def hostname_link(self, domain: Domain) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:domains_domain_change", args=[domain.pk]), domain.hostname
        )


class ApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fields = ["name", "display_prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "member_count", "domain_count", "created_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline, DomainInline, ApiKeyInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("memberships", distinct=True), domain_count=Count("domains", distinct=True))
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, workspace: Workspace) -> int:
        return workspace.member_count

    @admin.display(description="domains", ordering="domain_count")
    def domain_count(self, workspace: Workspace) -> int:
        return workspace.domain_count


class ActiveFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Active"), ("no", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by the workspace's owners and admins; support can only look and revoke.

    Neither the secret (never stored) nor its hash is ever shown.
    """

    list_display = ["name", "display_prefix", "workspace", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [ActiveFilter]
    search_fields = ["name", "key_id", "workspace__name", "workspace__public_id"]
    list_select_related = ["workspace", "created_by"]
    fields = ["name", "display_prefix", "workspace", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm("workspaces.change_apikey")

    @admin.display(description="key")
    def display_prefix(self, key: ApiKey) -> str:
        return f"{key.display_prefix}…"

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.select_related("workspace").filter(revoked_at__isnull=True):
            api_key_revoke(user=request.user, key=key)
            count += 1
        self.message_user(request, f"Revoked {count} key{'s' if count != 1 else ''}.", messages.SUCCESS)
