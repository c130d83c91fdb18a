"""factory_boy factories for the portal's models."""

import factory
from django.contrib.auth import get_user_model

from domains.hostnames import is_apex, to_unicode
from domains.models import Domain, DomainStatus
from workspaces.models import Membership, Role, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.OWNER


class DomainFactory(factory.django.DjangoModelFactory):
    """A domain row as the services would leave it; status set directly for test set-up."""

    class Meta:
        model = Domain

    workspace = factory.SubFactory(WorkspaceFactory)
    hostname = factory.Sequence(lambda n: f"gallery{n}.client-domain.com")
    display_hostname = factory.LazyAttribute(lambda d: to_unicode(d.hostname))
    is_apex = factory.LazyAttribute(lambda d: is_apex(d.hostname))
    status = DomainStatus.PENDING
