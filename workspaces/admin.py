from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse

from portal.admin import ReadOnlyTabularInline
from workspaces.models import MANAGING_ROLES, ApiKey, Membership, Workspace
from workspaces.roles import NotAllowed, is_support_staff
from workspaces.services import api_key_create_by_staff, api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fields = ["name", "display_prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """Workspaces with their members and keys; domains/admin_workspace.py adds the domains."""

    list_display = ["name", "public_id", "member_count", "created_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline, ApiKeyInline]

    def get_queryset(self, request):
        # distinct: other apps annotate counts over their own joins on top of this one.
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, workspace: Workspace) -> int:
        return workspace.member_count


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


class IssueApiKeyForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name"))
    acting_as = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(memberships__role__in=MANAGING_ROLES).distinct().order_by("username"),
        help_text="An owner or admin of the workspace: the key acts with their role.",
    )
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “Zapier”.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued by the workspace's owners and admins, or by support acting as one of them.

    Neither the secret (never stored) nor its hash is ever shown.
    """

    list_display = ["name", "display_prefix", "workspace", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [ActiveFilter]
    search_fields = ["name", "key_id", "workspace__name", "workspace__public_id"]
    list_select_related = ["workspace", "created_by"]
    fields = ["name", "display_prefix", "workspace", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a key through the service and show its secret once; nothing else ever shows it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IssueApiKeyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                key, plaintext = api_key_create_by_staff(
                    staff_user=request.user,
                    workspace=form.cleaned_data["workspace"],
                    acting_as=form.cleaned_data["acting_as"],
                    name=form.cleaned_data["name"],
                )
            except (NotAllowed, ValueError) as refusal:
                form.add_error(None, str(refusal))
            else:
                self.log_addition(request, key, [{"added": {}}])
                context = {**self.admin_site.each_context(request), "opts": self.model._meta, "key": key}
                response = TemplateResponse(
                    request, "admin/workspaces/apikey/issued.html", {**context, "plaintext": plaintext}
                )
                response["Cache-Control"] = "no-store"
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Issue an API key",
        }
        return TemplateResponse(request, "admin/workspaces/apikey/issue.html", context)

    def has_revoke_permission(self, request) -> bool:
        return is_support_staff(request.user, permission="workspaces.change_apikey")

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
