"""Selectors scope every read to a workspace the user belongs to."""

import pytest
from django.contrib.auth.models import AnonymousUser

from domains import selectors
from domains.models import Domain
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres


def test_members_of_a_workspace_see_its_domains(alice, bob, acme):
    domain = DomainFactory(workspace=acme)
    assert list(selectors.domain_list(user=alice, workspace=acme)) == [domain]
    assert selectors.domain_get(user=bob, workspace=acme, domain_id=domain.pk) == domain


def test_charlie_sees_nothing_of_acme(alice, charlie, acme, charlie_studio):
    domain = DomainFactory(workspace=acme)
    assert not selectors.domain_list(user=charlie, workspace=acme).exists()
    with pytest.raises(Domain.DoesNotExist):
        selectors.domain_get(user=charlie, workspace=acme, domain_id=domain.pk)
    with pytest.raises(Domain.DoesNotExist):
        selectors.domain_get(user=charlie, workspace=charlie_studio, domain_id=domain.pk)


def test_an_anonymous_visitor_sees_nothing(acme):
    DomainFactory(workspace=acme)
    assert not selectors.domain_list(user=AnonymousUser(), workspace=acme).exists()


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "2f1d0c7e-8d7a-4c53-9b0e-6f7d6c1f4a10"])
def test_an_unknown_or_malformed_id_is_simply_not_found(alice, acme, bad_id):
    with pytest.raises(Domain.DoesNotExist):
        selectors.domain_get(user=alice, workspace=acme, domain_id=bad_id)
