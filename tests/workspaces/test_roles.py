"""Who may act: owners and admins manage, members read, outsiders are refused; support staff need the permission."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from tests.factories import MembershipFactory, UserFactory
from workspaces.models import Role
from workspaces.roles import (
    NotAllowed,
    can_manage,
    is_support_staff,
    membership_of,
    require_manager,
    require_support_staff,
)

pytestmark = pytest.mark.django_db


class TestManager:
    @pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
    def test_owners_and_admins_manage(self, acme, role):
        user = UserFactory()
        MembershipFactory(user=user, workspace=acme, role=role)
        assert require_manager(user=user, workspace=acme).role == role
        assert can_manage(membership_of(user=user, workspace=acme))

    def test_a_member_reads_but_is_refused_with_the_action_named(self, bob, acme):
        assert membership_of(user=bob, workspace=acme).role == Role.MEMBER
        assert not can_manage(membership_of(user=bob, workspace=acme))
        with pytest.raises(NotAllowed, match="^Only the workspace's owners and admins can manage its API keys.$"):
            require_manager(user=bob, workspace=acme, action="manage its API keys")

    def test_an_owner_elsewhere_is_not_a_member_here(self, charlie, acme):
        assert membership_of(user=charlie, workspace=acme) is None
        with pytest.raises(NotAllowed, match="not a member"):
            require_manager(user=charlie, workspace=acme)

    def test_an_anonymous_visitor_belongs_nowhere(self, acme):
        assert membership_of(user=AnonymousUser(), workspace=acme) is None
        with pytest.raises(NotAllowed):
            require_manager(user=AnonymousUser(), workspace=acme)


class TestSupportStaff:
    def test_staff_with_the_permission_are_support(self, support):
        assert is_support_staff(support, permission="domains.change_domain")
        require_support_staff(support, permission="workspaces.add_apikey", action="add API keys")

    def test_staff_without_the_permission_are_refused(self, staff_without_permission):
        assert not is_support_staff(staff_without_permission, permission="domains.change_domain")
        with pytest.raises(NotAllowed, match="permission to add API keys"):
            require_support_staff(staff_without_permission, permission="workspaces.add_apikey", action="add API keys")

    def test_a_permission_without_staff_status_is_not_enough(self, alice):
        alice.user_permissions.add(Permission.objects.get(codename="change_domain"))
        assert not is_support_staff(alice, permission="domains.change_domain")

    def test_a_deactivated_account_is_not_support(self, support):
        support.is_active = False
        support.save(update_fields=["is_active"])
        assert not is_support_staff(support, permission="domains.change_domain")
