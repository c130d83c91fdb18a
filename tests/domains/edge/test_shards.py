"""The edge's host map in shards: marked dirty with each change, built from the database, read by the real edge
function against the local DynamoDB endpoint."""

import threading
import time

import pytest
from django.db import connection, transaction

from domains import services
from domains.edge import reconcile, shards
from domains.edge import store as edge_store
from domains.edge.store import WriteResult
from domains.models import Domain, DomainStatus, EdgeShard, EdgeShardHead, EdgeShardMark
from edge_function import shards as layout
from edge_function.config import validate
from edge_function.handler import EdgeHandler
from tests.edge_function.conftest import FakeClock, header, origin_request
from tests.factories import DomainFactory, WorkspaceFactory

pytestmark = pytest.mark.postgres

K = 8


@pytest.fixture(autouse=True)
def shard_settings(settings):
    settings.EDGE_SHARD_COUNT = K
    settings.EDGE_SHARD_DEBOUNCE_SECONDS = 1.0
    settings.EDGE_SHARD_DELTA_SECONDS = 120.0


def activate(domain) -> Domain:
    return services.domain_transition(
        domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="test"
    )


def edge_handler(edge_table, *, clock=time.monotonic, logs=None, **overrides) -> EdgeHandler:
    """The real edge function in shard mode, reading the test's table."""
    config = validate(
        {
            "table_name": edge_table.name,
            "replica_regions": ["us-east-1"],
            "endpoint_url": edge_table.url,
            "read_timeout_seconds": 5.0,
            **overrides,
        }
    )
    sink = logs if logs is not None else []
    return EdgeHandler(config, clock=clock, current_region="us-east-1", emit=sink.append)


def workspace_at_edge(handler, host):
    response = handler(origin_request(host))
    return header(response, "x-workspace-id")[0] if "status" not in response else response["status"]


def count_reads(handler) -> list[str]:
    keys: list[str] = []
    get = handler.reader.get

    def counting(key, **kwargs):
        keys.append(key)
        return get(key, **kwargs)

    handler.reader.get = counting
    return keys


def test_a_change_marks_its_shard_in_its_own_transaction_and_a_build_takes_the_mark(edge_table, acme):
    domain = DomainFactory(workspace=acme, hostname="gallery.client-domain.com")
    index = layout.shard_of(domain.hostname, K)
    assert shards.edge_shards_build().written == K  # every shard exists, none due

    with pytest.raises(RuntimeError), transaction.atomic():
        activate(domain)
        raise RuntimeError("the change is rolled back")
    assert not EdgeShardMark.objects.exists()
    assert shards.edge_shards_build().built == 0

    activate(domain)
    assert list(EdgeShardMark.objects.values_list("count", "index")) == [(K, index)]
    assert Domain.objects.get(pk=domain.pk).edge_shard_hash == layout.shard_hash(domain.hostname)
    EdgeShard.objects.update(next_build_at=None)  # the debounce after the first build has passed
    report = shards.edge_shards_build()
    assert (report.built, report.written) == (1, 1)
    assert not EdgeShardMark.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_transactions_changing_two_shards_in_opposite_orders_both_commit(acme, charlie_studio):
    """Marking is an insert: two batches that each activate a domain in shard A and one in shard B, in
    opposite orders and at the same moment, never wait on one another (an update of a per-shard row could
    deadlock them)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; CI runs this against PostgreSQL")
    by_shard: dict[int, list[str]] = {}
    for i in range(400):
        by_shard.setdefault(layout.shard_of(f"h{i}.client-domain.com", K), []).append(f"h{i}.client-domain.com")
    shard_a, shard_b = sorted(by_shard)[:2]
    first = [
        DomainFactory(workspace=acme, hostname=by_shard[shard_a][0]),
        DomainFactory(workspace=acme, hostname=by_shard[shard_b][0]),
    ]
    second = [
        DomainFactory(workspace=charlie_studio, hostname=by_shard[shard_b][1]),
        DomainFactory(workspace=charlie_studio, hostname=by_shard[shard_a][1]),
    ]
    EdgeShard.objects.bulk_create([EdgeShard(count=K, index=i) for i in range(K)])  # clean, as after a build
    barrier = threading.Barrier(2)
    outcomes = []

    def batch(domains):
        try:
            with transaction.atomic():
                activate(domains[0])
                barrier.wait(timeout=10)  # both hold their first change before either makes its second
                activate(domains[1])
            outcomes.append("committed")
        except Exception as error:  # noqa: BLE001 - the outcome is the assertion
            outcomes.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=batch, args=(domains,)) for domains in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == ["committed", "committed"]
    assert sorted(EdgeShardMark.objects.values_list("index", flat=True)) == sorted([shard_a, shard_a, shard_b, shard_b])


def test_a_build_writes_every_shard_from_the_database_and_then_the_head(edge_table, acme, charlie_studio):
    served = {activate(DomainFactory(workspace=acme)).hostname: acme.public_id for _ in range(30)}
    served.update({activate(DomainFactory(workspace=charlie_studio)).hostname: charlie_studio.public_id})
    DomainFactory(workspace=acme, status=DomainStatus.PENDING)  # never served

    report = shards.edge_shards_build()

    assert (report.built, report.written, report.failed, report.head) == (K, K, 0, "written")
    found = {}
    for index in range(K):
        shard = layout.shard_from_item(edge_store.get_raw(layout.shard_key(K, index)))
        assert all(layout.shard_of(host, K) == index for host in shard.mapping)
        found.update(shard.mapping)
    assert found == served
    head = layout.head_from_item(edge_store.get_raw(layout.HEAD_KEY))
    assert head.count == K
    assert head.versions == list(EdgeShard.objects.filter(count=K).order_by("index").values_list("version", flat=True))


def test_the_edge_serves_thousands_of_active_domains_with_one_read_per_shard_and_one_of_the_head(
    edge_table, acme, charlie_studio
):
    workspaces = [acme, charlie_studio, *WorkspaceFactory.create_batch(3)]
    # Most arrive in bulk (as an import would: no marking, no shard hash yet) ...
    bulk = [
        Domain(
            workspace=workspaces[i % 5],
            hostname=f"site{i}.client-domain.com",
            display_hostname=f"site{i}.client-domain.com",
            token=f"token{i:020d}",
            target=f"token{i:020d}.domain.ve.ai",
            status=DomainStatus.ACTIVE,
        )
        for i in range(2500)
    ]
    Domain.objects.bulk_create(bulk, batch_size=500)
    # ... and some through the lifecycle, one by one.
    activated = [activate(DomainFactory(workspace=workspaces[i % 5])) for i in range(50)]
    served = {domain.hostname: domain.workspace.public_id for domain in [*bulk, *activated]}
    report = shards.edge_shards_build()
    assert report.written == K
    handler = edge_handler(edge_table)
    reads = count_reads(handler)

    for host, workspace_id in served.items():
        assert workspace_at_edge(handler, host) == workspace_id
    assert workspace_at_edge(handler, "nobody.client-domain.com") == "404"

    assert len(reads) <= K + 1
    assert reads.count(layout.HEAD_KEY) == 1


def test_a_suspension_is_answered_404_by_a_warm_edge_within_the_poll_interval_plus_a_second(edge_table, acme, support):
    domain = activate(DomainFactory(workspace=acme, hostname="gallery.client-domain.com"))
    shards.edge_shards_build()
    poll = 2.0
    handler = edge_handler(edge_table, shard_poll_seconds=poll)
    assert workspace_at_edge(handler, domain.hostname) == acme.public_id
    reads = count_reads(handler)

    services.domain_suspend(staff_user=support, domain=domain, reason="abuse report")
    suspended_at = time.monotonic()
    answer = acme.public_id
    while answer != "404" and time.monotonic() - suspended_at < poll + 5:
        shards.edge_shards_build()  # what the worker does when the change queues it (or beat)
        answer = workspace_at_edge(handler, domain.hostname)
        time.sleep(0.05)
    took = time.monotonic() - suspended_at

    assert answer == "404"
    assert took <= poll + 1.0
    # The warm edge patched its shard from the head's delta: no shard fetched again.
    assert set(reads) == {layout.HEAD_KEY}


def test_a_second_change_within_the_debounce_waits_for_it(edge_table, acme, settings):
    settings.EDGE_SHARD_DEBOUNCE_SECONDS = 30.0
    activate(DomainFactory(workspace=acme))
    assert shards.edge_shards_build().written == K

    second = activate(DomainFactory(workspace=acme))
    report = shards.edge_shards_build()
    assert report.built == 0 and 25 < report.retry_in <= 30

    EdgeShard.objects.update(next_build_at=None)  # the debounce has passed
    report = shards.edge_shards_build()
    index = layout.shard_of(second.hostname, K)
    assert (report.built, report.written, report.deltas) == (1, 1, 1)
    live = layout.shard_from_item(edge_store.get_raw(layout.shard_key(K, index)))
    assert second.hostname in live.mapping


def test_a_rebuild_to_the_same_content_writes_nothing(edge_table, acme):
    activate(DomainFactory(workspace=acme))
    shards.edge_shards_build()
    EdgeShard.objects.update(dirty_since=EdgeShard.objects.first().written_at, next_build_at=None)

    report = shards.edge_shards_build()

    assert (report.built, report.unchanged, report.written) == (K, K, 0)
    assert all(row.version == row.written_version for row in EdgeShard.objects.all())


def test_a_shard_written_with_a_lower_version_never_replaces_a_newer_one(edge_table, db):
    key = layout.shard_key(K, 3)
    newer, _ = layout.encode_shard({"gallery.client-domain.com": "ws_new"})
    older, _ = layout.encode_shard({"gallery.client-domain.com": "ws_old"})

    assert edge_store.put_shard(key=key, count=K, index=3, version=7, data=newer, digest="n", hosts=1) is (
        WriteResult.WRITTEN
    )
    assert edge_store.put_shard(key=key, count=K, index=3, version=6, data=older, digest="o", hosts=1) is (
        WriteResult.SUPERSEDED
    )
    assert edge_store.put_shard(key=key, count=K, index=3, version=7, data=older, digest="o", hosts=1) is (
        WriteResult.SUPERSEDED
    )

    assert layout.shard_from_item(edge_store.get_raw(key)).mapping == {"gallery.client-domain.com": "ws_new"}


def test_a_build_overtakes_a_newer_version_written_from_elsewhere(edge_table, acme):
    domain = activate(DomainFactory(workspace=acme))
    index = layout.shard_of(domain.hostname, K)
    key = layout.shard_key(K, index)
    # Another deployment (or a restored database) left version 1000 with other content.
    stray, digest = layout.encode_shard({"stray.client-domain.com": "ws_stray"})
    edge_store.put_shard(key=key, count=K, index=index, version=1000, data=stray, digest=digest, hosts=1)

    first = shards.edge_shards_build()
    assert first.superseded == 1 and EdgeShard.objects.get(count=K, index=index).version == 1000
    time.sleep(first.retry_in or 0)
    shards.edge_shards_build()

    live = layout.shard_from_item(edge_store.get_raw(key))
    assert live.version == 1001 and live.mapping == {domain.hostname: acme.public_id}


def test_a_failed_write_keeps_the_shard_dirty_and_the_next_build_writes_it(edge_table, acme, settings):
    from tests.fixtures.processes import free_port

    domain = activate(DomainFactory(workspace=acme))
    good = settings.DYNAMODB_ENDPOINT_URL
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    edge_store.reset_client()

    report = shards.edge_shards_build()
    assert report.failed == K and report.head == "not ready"  # never a head naming shards that are not there
    assert EdgeShard.objects.filter(dirty_since__isnull=False, attempts=1).count() == K

    settings.DYNAMODB_ENDPOINT_URL = good
    edge_store.reset_client()
    EdgeShard.objects.update(next_build_at=None)  # the back-off has passed
    report = shards.edge_shards_build()

    assert report.written == K and report.head == "written"
    assert (
        domain.hostname
        in layout.shard_from_item(edge_store.get_raw(layout.shard_key(K, layout.shard_of(domain.hostname, K)))).mapping
    )


def test_the_reconciler_rebuilds_shards_lost_from_the_table_and_repairs_a_corrupted_one(edge_table, acme):
    domains = [activate(DomainFactory(workspace=acme)) for _ in range(20)]
    shards.edge_shards_build()
    lost = layout.shard_of(domains[0].hostname, K)
    corrupt = next(i for i in range(K) if i != lost)
    edge_table.client.delete_item(TableName=edge_table.name, Key={"host": {"S": layout.shard_key(K, lost)}})
    edge_table.client.delete_item(TableName=edge_table.name, Key={"host": {"S": layout.HEAD_KEY}})
    bad, digest = layout.encode_shard({"stray.client-domain.com": "ws_stray"})
    edge_table.client.put_item(
        TableName=edge_table.name,
        Item={
            "host": {"S": layout.shard_key(K, corrupt)},
            "version": {"N": "1"},
            "count": {"N": str(K)},
            "index": {"N": str(corrupt)},
            "digest": {"S": digest},
            "data": {"B": bad},
        },
    )

    dry = reconcile.edge_reconcile(dry_run=True).shards
    assert (dry["missing"], dry["stale"], dry["head_stale"], dry["repaired"]) == (1, 1, True, False)

    report = reconcile.edge_reconcile().shards
    assert report["repaired"] and report["build"]["written"] == 2 and report["build"]["head"] == "written"
    handler = edge_handler(edge_table)
    for domain in domains:
        assert workspace_at_edge(handler, domain.hostname) == acme.public_id
    assert workspace_at_edge(handler, "stray.client-domain.com") == "404"
    again = reconcile.edge_reconcile().shards
    assert again["drift"] == 0 and again["in_sync"] == K


def test_a_new_shard_count_is_built_whole_before_the_head_names_it_and_old_shards_go_later(edge_table, acme, settings):
    domains = [activate(DomainFactory(workspace=acme)) for _ in range(10)]
    shards.edge_shards_build()
    clock = FakeClock()
    handler = edge_handler(edge_table, clock=clock)
    for domain in domains:
        workspace_at_edge(handler, domain.hostname)

    settings.EDGE_SHARD_COUNT = 3
    report = shards.edge_shards_build()
    assert (report.written, report.head) == (3, "written")
    clock.advance(10)
    for domain in domains:
        assert workspace_at_edge(handler, domain.hostname) == acme.public_id
    assert handler.shards.count == 3

    reconcile.edge_reconcile()  # the old shards stay while edges may still read them
    assert edge_store.get_raw(layout.shard_key(K, 0)) is not None
    EdgeShardHead.objects.update(count_since=EdgeShardHead.objects.get().count_since - shards.OLD_SHARDS_GRACE)
    report = reconcile.edge_reconcile().shards
    assert report["deleted"] == K and edge_store.get_raw(layout.shard_key(K, 0)) is None
    assert set(EdgeShard.objects.values_list("count", flat=True)) == {3}


def test_the_admin_shows_the_hostnames_shard_its_version_and_whether_it_is_in_it(client, support, edge_table, acme):
    domain = activate(DomainFactory(workspace=acme, hostname="gallery.client-domain.com"))
    shards.edge_shards_build()
    index = layout.shard_of(domain.hostname, K)
    version = EdgeShard.objects.get(count=K, index=index).written_version
    client.force_login(support)

    page = client.get(f"/admin/domains/domain/{domain.pk}/change/").content.decode()

    assert f"shard <strong>{index}</strong> of {K}" in page
    assert f"version {version} written" in page
    assert f"holding this hostname for {acme.public_id}" in page

    services.domain_suspend(staff_user=support, domain=domain, reason="abuse report")
    page = client.get(f"/admin/domains/domain/{domain.pk}/change/").content.decode()
    assert "a rebuild is pending" in page
