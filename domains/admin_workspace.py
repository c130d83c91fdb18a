"""The Workspace admin page with the workspace's domains: the domains app extends workspaces' admin.

workspaces knows nothing of domains, so its WorkspaceAdmin lists members and
keys only; this subclass adds a domain count and a read-only list of the
domains, and takes the Workspace registration over.
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from domains.hostnames import to_unicode_with_ascii
from domains.models import Domain
from portal.admin import ReadOnlyTabularInline
from workspaces.admin import ApiKeyInline, MembershipInline, WorkspaceAdmin
from workspaces.models import Workspace


class DomainInline(ReadOnlyTabularInline):
    model = Domain
    fields = ["hostname_link", "status", "last_check_outcome", "created_at"]
    readonly_fields = fields
    ordering = ["display_hostname"]  # as people read the names, not by punycode

    @admin.display(description="hostname")
    def hostname_link(self, domain: Domain) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:domains_domain_change", args=[domain.pk]),
            to_unicode_with_ascii(domain.hostname),
        )


class WorkspaceWithDomainsAdmin(WorkspaceAdmin):
    list_display = ["name", "public_id", "member_count", "domain_count", "created_at"]
    inlines = [MembershipInline, DomainInline, ApiKeyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(domain_count=Count("domains", distinct=True))

    @admin.display(description="domains", ordering="domain_count")
    def domain_count(self, workspace: Workspace) -> int:
        return workspace.domain_count


admin.site.unregister(Workspace)
admin.site.register(Workspace, WorkspaceWithDomainsAdmin)
