"""Shard mode: the host map in whole shards, loaded on first use and refreshed by polling the head,
against a real moto endpoint (and a replica that hangs)."""

import random
import time

import pytest

from edge_function import shards
from tests.edge_function.conftest import Table, header, origin_request, point_reader_at

POLL = 10.0


def workspace_of(response):
    return header(response, "x-workspace-id") or response.get("status")


class ReadCounter:
    """Counts the reads a handler makes (each still goes to the endpoint)."""

    def __init__(self, handler) -> None:
        self.keys: list[str] = []
        self._get = handler.reader.get
        handler.reader.get = self

    def __call__(self, key, **kwargs):
        self.keys.append(key)
        return self._get(key, **kwargs)

    @property
    def shard_reads(self) -> int:
        return sum(1 for key in self.keys if shards.parse_shard_key(key))

    @property
    def head_reads(self) -> int:
        return self.keys.count(shards.HEAD_KEY)


def hostnames(count: int, seed: int = 1) -> dict[str, str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return {
        f"{rng.choice(['gallery', 'photos', 'www'])}.{''.join(rng.choices(letters, k=10))}.com": f"ws_{i:016x}"
        for i in range(count)
    }


# --- the pure part: the shard function and the formats ------------------------------------------


def test_a_hostname_always_lands_in_the_same_shard_within_range():
    for host in hostnames(500):
        index = shards.shard_of(host, 64)
        assert 0 <= index < 64
        assert shards.shard_of(host, 64) == index
        assert shards.shard_of(host, 1) == 0


@pytest.mark.parametrize("count", [1, 3, 7, 64, 1000])
def test_each_shard_is_exactly_its_range_of_hashes(count):
    for host in hostnames(300, seed=count):
        value = shards.shard_hash(host)
        low, high = shards.shard_hash_range(shards.shard_of(host, count), count)
        assert low <= value < high
    assert shards.shard_hash_range(0, count)[0] == 0
    assert shards.shard_hash_range(count - 1, count)[1] == 2**63
    for index in range(min(count, 50) - 1):
        assert shards.shard_hash_range(index, count)[1] == shards.shard_hash_range(index + 1, count)[0]


def test_hostnames_spread_evenly_over_the_shards():
    counts = [0] * 16
    for host in hostnames(16_000):
        counts[shards.shard_of(host, 16)] += 1

    assert min(counts) > 900 and max(counts) < 1100


def test_a_shard_decodes_to_the_map_it_was_encoded_from_and_its_digest_depends_only_on_the_map():
    mapping = hostnames(1000)
    data, digest = shards.encode_shard(mapping)

    assert shards.decode_shard(data) == mapping
    assert shards.encode_shard(dict(reversed(mapping.items())))[1] == digest
    assert shards.encode_shard({**mapping, "extra.client.com": "ws_1"})[1] != digest
    assert shards.decode_shard(shards.encode_shard({})[0]) == {}
    assert len(data) < len(shards.canonical_text(mapping)) / 2  # compressed


def test_the_head_carries_versions_and_the_deltas_that_chain_one_version_to_the_next():
    data = shards.encode_head(
        3, [5, 1, 9], [(0, 3, 4, {"a.com": "ws_1"}), (0, 4, 5, {"b.com": ""}), (2, 7, 9, {"c.com": "ws_2"})]
    )
    head = shards.decode_head(data, version=12)

    assert (head.count, head.version, head.versions) == (3, 12, [5, 1, 9])
    assert [d[1:3] for d in head.chain(0, 3, 5)] == [(3, 4), (4, 5)]
    assert head.chain(0, 2, 5) is None  # no delta from version 2: fetch the shard again
    assert head.chain(2, 8, 9) is None
    assert head.chain(1, 1, 1) == []


# --- the handler in shard mode ------------------------------------------------------------------


@pytest.fixture
def big_table(dynamodb_endpoint):
    table = Table(dynamodb_endpoint, shard_count=8)
    table.serve_many(hostnames(3000))
    return table


def test_it_answers_thousands_of_hostnames_with_one_read_per_shard_and_one_of_the_head(make_handler, big_table):
    handler = make_handler(big_table.name, {"us-east-1": big_table.endpoint})
    reads = ReadCounter(handler)

    for host, workspace in big_table.served.items():
        assert workspace_of(handler(origin_request(host))) == [workspace]

    assert reads.shard_reads == 8
    assert reads.head_reads == 1


def test_a_host_absent_from_a_loaded_shard_is_answered_404_from_memory(make_handler, big_table):
    handler = make_handler(big_table.name, {"us-east-1": big_table.endpoint})
    host = next(iter(big_table.served))
    unknown = next(
        f"nobody{i}.client.com"
        for i in range(1000)
        if shards.shard_of(f"nobody{i}.client.com", 8) == big_table.shard_of(host)
    )
    handler(origin_request(host))
    reads = ReadCounter(handler)

    for _ in range(3):
        assert handler(origin_request(unknown))["status"] == "404"

    assert reads.keys == []


def test_the_poll_reads_only_the_head_while_nothing_changes(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint})
    handler(origin_request("gallery.client.com"))
    reads = ReadCounter(handler)

    for _ in range(5):
        clock.advance(POLL)
        assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]

    assert reads.keys == [shards.HEAD_KEY] * 5


def test_a_change_is_answered_after_the_next_poll_by_fetching_the_changed_shard_again(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint})
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]

    table.tombstone("gallery.client.com", "ws-alice")
    clock.advance(POLL - 1)
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]  # until the poll
    reads = ReadCounter(handler)
    clock.advance(1)

    assert handler(origin_request("gallery.client.com"))["status"] == "404"
    assert reads.keys == [shards.HEAD_KEY, shards.shard_key(4, table.shard_of("gallery.client.com"))]


def test_a_change_listed_in_the_head_is_applied_without_fetching_the_shard(make_handler, dynamodb_endpoint, clock):
    table = Table(dynamodb_endpoint, deltas=True)
    table.serve("gallery.client.com", "ws-alice")
    table.serve("photos.client.com", "ws-bob")
    handler = make_handler(table.name, {"us-east-1": table.endpoint})
    handler(origin_request("gallery.client.com"))
    handler(origin_request("photos.client.com"))

    table.serve("gallery.client.com", "ws-carol")
    table.tombstone("photos.client.com", "ws-bob")
    reads = ReadCounter(handler)
    clock.advance(POLL)

    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-carol"]
    assert handler(origin_request("photos.client.com"))["status"] == "404"
    assert reads.keys == [shards.HEAD_KEY]
    assert handler.shards.deltas_applied >= 1


def test_it_follows_a_new_shard_count_from_the_head(make_handler, big_table, clock):
    handler = make_handler(big_table.name, {"us-east-1": big_table.endpoint})
    hosts = list(big_table.served)[:50]
    for host in hosts:
        handler(origin_request(host))

    big_table.reshard(3)
    big_table.serve("late.client.com", "ws-late")
    clock.advance(POLL)

    for host in [*hosts, "late.client.com"]:
        assert workspace_of(handler(origin_request(host))) == [big_table.served[host]]
    assert handler.shards.count == 3


def test_a_shard_with_a_lower_version_never_replaces_the_one_loaded(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint})
    handler(origin_request("gallery.client.com"))
    index = table.shard_of("gallery.client.com")
    loaded = table.shard_versions[index]

    # An older writer's copy lands (lower version) while the head says the shard changed.
    table.write_shard(index, loaded - 1, {"gallery.client.com": "ws-mallory"})
    table.shard_versions[index] = loaded + 1
    table.write_head()
    clock.advance(POLL)

    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]
    assert handler.shards.versions[index] == loaded


def test_loaded_shards_keep_serving_when_dynamodb_goes_away_and_unloaded_ones_answer_503(
    make_handler, dynamodb_endpoint_factory, clock
):
    server = dynamodb_endpoint_factory()
    table = Table(server.url, shard_count=2)
    table.serve_many(hostnames(200))
    logs = []
    handler = make_handler(table.name, {"us-east-1": server.url}, logs=logs)
    loaded_host = next(iter(table.served))
    other_host = next(h for h in table.served if table.shard_of(h) != table.shard_of(loaded_host))
    handler(origin_request(loaded_host))

    server.stop()
    clock.advance(POLL)

    assert workspace_of(handler(origin_request(loaded_host))) == [table.served[loaded_host]]
    assert handler(origin_request(other_host))["status"] == "503"
    assert [line["outcome"] for line in logs if line["event"] == "edge_shards"] == ["poll_failed", "unavailable"]


def test_without_a_head_it_asks_for_each_hostname_until_the_portal_has_written_shards(
    make_handler, dynamodb_endpoint, clock
):
    table = Table(dynamodb_endpoint, shard_count=None)
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint})

    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]
    assert handler(origin_request("unknown.client.com"))["status"] == "404"

    table.shard_count = 2
    table.shard_versions = [0, 0]
    table.publish(range(2))
    table.tombstone("gallery.client.com", "ws-alice")  # both the host item and its shard
    clock.advance(POLL)

    assert handler(origin_request("gallery.client.com"))["status"] == "404"
    assert handler.shards.has_head


# --- the time budget ------------------------------------------------------------------------


def test_a_replica_that_hangs_is_abandoned_within_the_budget_and_the_loaded_shard_keeps_serving(
    make_handler, table, clock, hung_endpoint
):
    table.serve("gallery.client.com", "ws-alice")
    logs = []
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, logs=logs, lookup_budget_seconds=1.0)
    handler(origin_request("gallery.client.com"))

    point_reader_at(handler, "us-east-1", hung_endpoint.url)
    clock.advance(POLL)
    started = time.monotonic()
    response = handler(origin_request("gallery.client.com"))
    waited = time.monotonic() - started

    assert workspace_of(response) == ["ws-alice"]
    assert 0.9 <= waited < 1.5
    assert hung_endpoint.accepted, "the request really reached the hung replica"
    assert logs[-1]["outcome"] == "poll_failed"

    # The next request does not wait again: the next poll is after the failure back-off.
    clock.advance(1)
    started = time.monotonic()
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]
    assert time.monotonic() - started < 0.2


def test_a_shard_never_loaded_behind_a_hung_replica_answers_503_within_the_budget(
    make_handler, table, clock, hung_endpoint
):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": hung_endpoint.url}, lookup_budget_seconds=1.0)
    # The first request also builds the client (a cold start, outside what a budget can cut short).
    assert handler(origin_request("gallery.client.com"))["status"] == "503"

    asked_before = len(hung_endpoint.accepted)
    started = time.monotonic()
    response = handler(origin_request("gallery.client.com"))

    assert response["status"] == "503"
    assert time.monotonic() - started < 1.5
    assert len(hung_endpoint.accepted) > asked_before  # it did wait on the hung replica again
