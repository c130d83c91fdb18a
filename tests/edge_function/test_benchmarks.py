"""The benchmarks run end to end (tiny sizes) and end with one line of JSON figures."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_bench(script, *args):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_cache_simulation_reports_reads_for_every_configuration():
    figures = run_bench("edge_cache_sim.py", "--requests", "20000")

    assert {f"memory_share_{h}h_{t}s" for h in (2000, 100000) for t in (60, 300, 900)} <= set(figures)
    assert all(0 <= value <= 1 for key, value in figures.items() if key.startswith("memory_share"))


def test_the_handler_benchmark_reports_warm_and_cold_figures(aws_fake_credentials):
    figures = run_bench("edge_handler.py", "--batches", "50", "--cold-runs", "1")

    assert {
        "warm_edge_vs_minimal",
        "warm_edge_vs_cachetools",
        "cold_edge_vs_boto3",
    } <= set(figures)
