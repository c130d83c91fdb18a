"""The Workspace admin page, extended by the domains app with the workspace's domains."""

import re

import pytest

from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/workspaces/workspace/"


@pytest.fixture
def as_support(client, support):
    client.force_login(support)
    return client


def test_the_list_counts_each_workspaces_members_and_domains(as_support, acme, alice, bob, charlie_studio):
    for name in ("a", "b", "c"):
        DomainFactory(workspace=acme, hostname=f"{name}.client-domain.com")

    page = as_support.get(CHANGELIST).content.decode()

    acme_row = next(row for row in re.findall(r"<tr.*?</tr>", page, re.DOTALL) if "Acme Photo" in row)
    counts = re.findall(r'<td class="field-(member_count|domain_count)">(\d+)</td>', acme_row)
    # Counted apart: the two joins must not multiply each other (2 members × 3 domains).
    assert dict(counts) == {"member_count": "2", "domain_count": "3"}


def test_the_workspace_page_links_each_domain_to_its_admin_page(as_support, acme):
    domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")

    page = as_support.get(f"{CHANGELIST}{acme.pk}/change/").content.decode()

    assert f'href="/admin/domains/domain/{domain.pk}/change/">gallery.client-domain.com</a>' in page
