"""Admin building blocks shared by the apps."""

from django.contrib import admin


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows shown for context only: support staff change them through services, never here."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
