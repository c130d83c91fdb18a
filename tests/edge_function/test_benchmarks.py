"""The edge benchmarks run end to end at tiny sizes, and the figures in their last line add up."""

import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUESTS = 20_000
HOSTNAME_COUNTS = (2_000, 20_000)
TTLS = (60, 300, 900)
POLL = 10.0


def run_bench(script: str, *args: str) -> dict:
    """The benchmark's last line: one JSON object of finite numbers (its figures)."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(figures, dict) and figures
    assert all(type(value) in (int, float) and math.isfinite(value) for value in figures.values()), figures
    return figures


@pytest.fixture(scope="module")
def cache_figures() -> dict:
    return run_bench(
        "edge_cache_sim.py",
        "--requests",
        str(REQUESTS),
        "--sizes",
        ",".join(str(n) for n in HOSTNAME_COUNTS),
        "--warmup",
        "60",
        "--change-every",
        "5",
    )


@pytest.mark.parametrize("ttl", TTLS)
@pytest.mark.parametrize("hosts", HOSTNAME_COUNTS)
def test_every_request_of_the_simulation_is_either_a_cache_hit_or_one_read(cache_figures, hosts, ttl):
    reads = cache_figures[f"reads_{hosts}h_{ttl}s"]
    share = cache_figures[f"memory_share_{hosts}h_{ttl}s"]

    assert 0 < reads < REQUESTS
    assert 0 < share < 1
    assert share == pytest.approx(1 - reads / REQUESTS, abs=1e-4)
    assert cache_figures[f"reads_per_million_{hosts}h_{ttl}s"] == round(reads * 1_000_000 / REQUESTS)
    # A host item is under 4 KB: half a read unit, eventually consistent.
    assert cache_figures[f"rru_per_million_{hosts}h_{ttl}s"] == pytest.approx(
        reads * 1_000_000 / REQUESTS / 2, rel=1e-3
    )


@pytest.mark.parametrize("hosts", HOSTNAME_COUNTS)
def test_a_longer_ttl_never_costs_more_reads_and_answers_changes_later(cache_figures, hosts):
    reads = [cache_figures[f"reads_{hosts}h_{ttl}s"] for ttl in TTLS]
    staleness = [cache_figures[f"staleness_max_s_{hosts}h_{ttl}s"] for ttl in TTLS]

    assert reads == sorted(reads, reverse=True)
    assert reads[0] > reads[-1], "in 100 simulated seconds a 60 s TTL expires entries that a 900 s one keeps"
    assert staleness == sorted(staleness)
    for ttl, stale in zip(TTLS, staleness, strict=True):
        assert stale <= ttl + 1, "a cached answer outlives its TTL by no more than the delivery of the change"


@pytest.mark.parametrize("ttl", TTLS)
def test_traffic_spread_over_fewer_hostnames_is_served_from_memory_more_often(cache_figures, ttl):
    few, many = (cache_figures[f"memory_share_{hosts}h_{ttl}s"] for hosts in HOSTNAME_COUNTS)

    assert few > many


@pytest.mark.parametrize("hosts", HOSTNAME_COUNTS)
def test_shards_answer_more_from_memory_for_fewer_read_units_and_follow_changes_within_a_poll(cache_figures, hosts):
    shards = f"{hosts}h_shards"
    loads = cache_figures[f"shard_loads_{shards}"]

    assert cache_figures[f"changes_{shards}"] > 10
    assert cache_figures[f"memory_share_{shards}"] == pytest.approx(1 - loads / REQUESTS, abs=1e-4)
    # After the warm-up only a container started since loads shards, each at most once.
    assert loads <= cache_figures[f"shard_count_{shards}"] * cache_figures[f"containers_{shards}"]
    for ttl in TTLS:
        assert cache_figures[f"memory_share_{shards}"] > cache_figures[f"memory_share_{hosts}h_{ttl}s"]
    assert cache_figures[f"rru_per_million_{shards}"] < cache_figures[f"rru_per_million_{hosts}h_300s"]
    # Changes reach every container at its next poll, plus the portal's build and the poll's own timing.
    assert 0 < cache_figures[f"staleness_p99_s_{shards}"] <= POLL + 2
    assert cache_figures[f"staleness_max_s_{hosts}h_300s"] > POLL + 2
    # The head's deltas replace refetching: the same answers for fewer read units.
    assert cache_figures[f"deltas_applied_{shards}"] > 0 and cache_figures[f"shard_refetches_{shards}"] == 0
    assert cache_figures[f"shard_refetches_{hosts}h_shards_nodelta"] > 0
    assert cache_figures[f"rru_per_million_{shards}"] < cache_figures[f"rru_per_million_{hosts}h_shards_nodelta"]
    assert cache_figures[f"staleness_p99_s_{hosts}h_shards_nodelta"] <= POLL + 2
    assert cache_figures[f"max_shard_kb_{shards}"] < 400


def test_the_handler_benchmark_times_cache_hits_far_below_a_cold_start_and_its_ratios_add_up(aws_fake_credentials):
    figures = run_bench("edge_handler.py", "--batches", "50", "--cold-runs", "1", "--shard-hosts", "2000")

    assert figures["cold_shard_hosts"] == 2000 and figures["cold_shard_bytes"] > 2000
    for variant in ("warm_edge", "warm_edge_host", "warm_minimal", "warm_cachetools"):
        assert 0 < figures[f"{variant}_median_ns"] <= figures[f"{variant}_p99_ns"]
    for variant in ("edge_cold", "boto3_bare"):
        assert 0 < figures[f"{variant}_median_ms"] <= figures[f"{variant}_p99_ms"]
    # A cache hit never leaves the process: well under 0.1 ms, where any DynamoDB read over loopback takes longer.
    assert figures["warm_edge_median_ns"] < 100_000
    assert figures["warm_edge_median_ns"] < figures["edge_cold_median_ms"] * 1_000_000 / 100
    for ratio, numerator, denominator in [
        ("warm_edge_vs_minimal", "warm_edge_median_ns", "warm_minimal_median_ns"),
        ("warm_edge_host_vs_minimal", "warm_edge_host_median_ns", "warm_minimal_median_ns"),
        ("warm_edge_vs_cachetools", "warm_edge_median_ns", "warm_cachetools_median_ns"),
        ("cold_edge_vs_boto3", "edge_cold_median_ms", "boto3_bare_median_ms"),
    ]:
        assert figures[ratio] == pytest.approx(figures[numerator] / figures[denominator], rel=0.01, abs=0.002)
