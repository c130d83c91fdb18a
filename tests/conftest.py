"""The fixed cast: alice (owner) and bob (member) share Acme Photo; charlie has his own workspace."""

import pytest
from django.contrib.auth.models import Permission

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role


@pytest.fixture
def acme(db):
    return WorkspaceFactory(name="Acme Photo")


@pytest.fixture
def charlie_studio(db):
    return WorkspaceFactory(name="Charlie Studio")


@pytest.fixture
def alice(acme):
    user = UserFactory(username="alice")
    MembershipFactory(user=user, workspace=acme, role=Role.OWNER)
    return user


@pytest.fixture
def bob(acme):
    user = UserFactory(username="bob")
    MembershipFactory(user=user, workspace=acme, role=Role.MEMBER)
    return user


@pytest.fixture
def charlie(charlie_studio):
    user = UserFactory(username="charlie")
    MembershipFactory(user=user, workspace=charlie_studio, role=Role.OWNER)
    return user


@pytest.fixture
def support(db):
    """A support staff member allowed to change domains (but not a superuser)."""
    user = UserFactory(username="support", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="domains"),
        *Permission.objects.filter(content_type__app_label="workspaces"),
    )
    return user


@pytest.fixture
def staff_without_permission(db):
    return UserFactory(username="intern", is_staff=True)


@pytest.fixture(autouse=True)
def _broker_reachable_again():
    """A broker failure in one test must not make the next one skip publishing."""
    from domains.enqueue import reset_broker_backoff

    reset_broker_backoff()
    yield
    reset_broker_backoff()
