"""The edge-state rules: the SQL annotation and the Python rule say the same for every outbox situation."""

import itertools

import pytest
from django.utils import timezone

from domains.edge.states import EdgeState, EdgeSync, desired_state, sync_state
from domains.edge.status import annotate_edge_state, domain_edge_status, expected_item_state
from domains.models import Domain, DomainStatus, EdgeOutbox
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

# Every newest-row situation: no row, or (state, delivered, attempts).
SITUATIONS = [None] + list(itertools.product(EdgeState.values, [False, True], [0, 3]))


@pytest.mark.django_db
def test_the_sql_annotation_and_the_python_rule_agree_in_every_situation(acme):
    expected = {}
    for i, situation in enumerate(SITUATIONS):
        domain = DomainFactory(workspace=acme, hostname=f"s{i}.client-domain.com")
        if situation is None:
            expected[domain.hostname] = sync_state(state=None, delivered=False, attempts=0)
            continue
        state, delivered, attempts = situation
        # An older, delivered row of the other kind must not count: only the newest does.
        EdgeOutbox.objects.create(
            hostname=domain.hostname,
            workspace_public_id=acme.public_id,
            version=1,
            state=EdgeState.GONE if state == EdgeState.SERVE else EdgeState.SERVE,
            delivered_at=timezone.now(),
        )
        EdgeOutbox.objects.create(
            hostname=domain.hostname,
            workspace_public_id=acme.public_id,
            version=2,
            state=state,
            delivered_at=timezone.now() if delivered else None,
            attempts=attempts,
        )
        expected[domain.hostname] = sync_state(state=state, delivered=delivered, attempts=attempts)

    annotated = {d.hostname: d.edge_state for d in annotate_edge_state(Domain.objects.all())}
    one_by_one = {d.hostname: domain_edge_status(domain=d)["state"] for d in Domain.objects.all()}
    assert annotated == one_by_one == expected
    assert set(expected.values()) == set(EdgeSync)  # every state is reachable


def test_a_change_is_serving_only_once_a_serve_item_landed():
    assert sync_state(state=EdgeState.SERVE, delivered=True, attempts=0) == EdgeSync.SERVING
    assert sync_state(state=EdgeState.GONE, delivered=True, attempts=0) == EdgeSync.NOT_SERVED
    assert sync_state(state=EdgeState.SERVE, delivered=False, attempts=0) == EdgeSync.SYNCING
    assert sync_state(state=EdgeState.SERVE, delivered=False, attempts=1) == EdgeSync.SYNC_FAILED


def test_the_edge_serves_only_servable_domains_that_are_not_deleted():
    assert desired_state(servable=True) == EdgeState.SERVE
    assert desired_state(servable=True, deleted=True) == EdgeState.GONE
    assert desired_state(servable=False) == EdgeState.GONE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "edge_version", "expected"),
    [
        (DomainStatus.PENDING, 0, None),  # the edge never heard of it: no item at all
        (DomainStatus.ACTIVE, 5, EdgeState.SERVE),
        (DomainStatus.MISCONFIGURED, 5, EdgeState.SERVE),  # still served during its grace period
        (DomainStatus.SUSPENDED, 5, EdgeState.GONE),
        (DomainStatus.FAILED, 5, EdgeState.GONE),
    ],
)
def test_the_item_a_domain_should_have_follows_its_status(acme, status, edge_version, expected):
    domain = DomainFactory(workspace=acme, status=status, edge_version=edge_version)
    assert expected_item_state(domain) == expected
