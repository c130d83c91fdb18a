"""Settings baked into the zip (Lambda@Edge has no environment variables).

``config.json`` beside this file is what ships. For local runs only, the
``EDGE_CONFIG`` environment variable may name another JSON file whose keys
override it (the local stack uses that to add a DynamoDB ``endpoint_url``).
"""

from __future__ import annotations

import json
import os

BUNDLED_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.json")

DEFAULTS: dict = {
    "table_name": "ve-custom-domains",
    "replica_regions": ["us-east-1"],
    # "shards": whole shards of the host map, refreshed by polling the head item;
    # "host": the seed's per-host cache with positive and negative TTLs (a fallback).
    "lookup_mode": "shards",
    "shard_poll_seconds": 10,
    # One lookup (retries and failover included) ends within this many seconds.
    "lookup_budget_seconds": 1.5,
    # After a failed read, what is held is served this long before DynamoDB is asked again.
    "failure_backoff_seconds": 5,
    "positive_ttl_seconds": 300,
    "negative_ttl_seconds": 30,
    "ttl_jitter": 0.1,
    "cache_max_entries": 50000,
    "stale_if_error_seconds": 21600,
    "workspace_header": "x-workspace-id",
    "forwarded_host_header": "x-forwarded-host",
    "pass_through_suffixes": ["ve.ai"],
    "connect_timeout_seconds": 0.5,
    "read_timeout_seconds": 1.0,
    "retries_per_region": 1,
    "not_found_max_age_seconds": 10,
    "unavailable_retry_after_seconds": 5,
    "stats_interval_seconds": 60,
    "endpoint_url": None,
    "endpoint_urls": {},
}

LOOKUP_MODES = ("shards", "host")

_NUMBERS = (
    "shard_poll_seconds",
    "lookup_budget_seconds",
    "failure_backoff_seconds",
    "positive_ttl_seconds",
    "negative_ttl_seconds",
    "ttl_jitter",
    "stale_if_error_seconds",
    "connect_timeout_seconds",
    "read_timeout_seconds",
    "not_found_max_age_seconds",
    "unavailable_retry_after_seconds",
    "stats_interval_seconds",
)


class ConfigError(ValueError):
    pass


def validate(config: dict) -> dict:
    """Return a complete config (defaults filled in) or raise ConfigError.

    Unknown keys are refused so that a typo in a baked config cannot silently
    fall back to a default in production.
    """
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    merged = {**DEFAULTS, **config}
    if not isinstance(merged["table_name"], str) or not merged["table_name"]:
        raise ConfigError("table_name must be a non-empty string")
    regions = merged["replica_regions"]
    if not regions or not all(isinstance(r, str) and r for r in regions):
        raise ConfigError("replica_regions must be a non-empty list of region names")
    for key in _NUMBERS:
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{key} must be a non-negative number")
    if merged["lookup_mode"] not in LOOKUP_MODES:
        raise ConfigError(f"lookup_mode must be one of {', '.join(LOOKUP_MODES)}")
    for key in ("shard_poll_seconds", "lookup_budget_seconds"):
        if merged[key] <= 0:
            raise ConfigError(f"{key} must be positive")
    if not 0 <= merged["ttl_jitter"] < 1:
        raise ConfigError("ttl_jitter must be in [0, 1)")
    for key in ("cache_max_entries", "retries_per_region"):
        if isinstance(merged[key], bool) or not isinstance(merged[key], int) or merged[key] < 0:
            raise ConfigError(f"{key} must be a non-negative integer")
    if merged["cache_max_entries"] < 1:
        raise ConfigError("cache_max_entries must be at least 1")
    for key in ("workspace_header", "forwarded_host_header"):
        if merged[key] != merged[key].lower():
            raise ConfigError(f"{key} must be lowercase (CloudFront header keys are)")
    if not isinstance(merged["endpoint_urls"], dict):
        raise ConfigError("endpoint_urls must map region names to URLs")
    return merged


def _read(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a JSON object")
    return data


def load(path: str | None = None) -> dict:
    """The bundled config, overridden by ``path`` or else by ``$EDGE_CONFIG``."""
    data = _read(BUNDLED_CONFIG) if os.path.exists(BUNDLED_CONFIG) else {}
    override = path or os.environ.get("EDGE_CONFIG")
    if override:
        data.update(_read(override))
    return validate(data)
