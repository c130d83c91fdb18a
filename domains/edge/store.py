"""The only Django-side code that talks to DynamoDB: the edge copy of servable hostnames.

One cached boto3 client for the home region (every write goes there; global
table replication carries it to the replicas), with explicit timeouts and
bounded retries. Item writes are conditional on the version so a late or
repeated delivery can never overwrite a newer state.

The item shape is the contract with edge_function/:
    host (S, key), workspace_id (S), version (N), state (S: an EdgeState),
    updated_at (S, ISO), expires_at (N, tombstones only: DynamoDB TTL).
The same table holds the shard and head items of the edge's host map (keys
starting with "#"; their format lives in edge_function.shards, their logic in
domains.edge.shards): host, version (N), count (N), index (N, shards),
format (N), hosts (N), digest (S), data (B), updated_at (S).
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from django.conf import settings

from domains.edge.states import EdgeState

logger = logging.getLogger(__name__)

# Error codes that mean "try again later", as opposed to a request that is wrong.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)

_VERSION_CONDITION = "attribute_not_exists(#host) OR #version < :version"
_NAMES = {"#host": "host", "#version": "version"}
# Reserved words (STATE, COUNT, DATA among them) are always addressed through names.
_SCAN_NAMES = {"#h": "host", "#w": "workspace_id", "#v": "version", "#s": "state", "#d": "digest"}


class EdgeStoreUnavailable(Exception):
    """DynamoDB could not be reached or asked us to slow down: the write may succeed later."""


class EdgeStoreError(Exception):
    """DynamoDB refused the request for a reason retrying will not fix by itself."""


class WriteResult(enum.Enum):
    WRITTEN = "written"
    # The condition failed: the stored version is already this one or newer.
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class EdgeItem:
    host: str
    workspace_id: str
    version: int
    state: str
    updated_at: str = ""
    expires_at: int | None = None
    digest: str = ""  # shard items only (their keys start with "#": see edge_function.shards)

    @classmethod
    def from_dynamodb(cls, raw: dict) -> EdgeItem:
        return cls(
            host=raw["host"]["S"],
            workspace_id=raw.get("workspace_id", {}).get("S", ""),
            version=int(raw.get("version", {}).get("N", "0")),
            state=raw.get("state", {}).get("S", ""),
            updated_at=raw.get("updated_at", {}).get("S", ""),
            expires_at=int(raw["expires_at"]["N"]) if "expires_at" in raw else None,
            digest=raw.get("digest", {}).get("S", ""),
        )

    def as_dict(self) -> dict:
        return {
            "host": self.host,
            "workspace_id": self.workspace_id,
            "version": self.version,
            "state": self.state,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
        }


# --- The client -----------------------------------------------------------------

_client_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def _client_key(region: str | None) -> tuple:
    return (
        region or settings.DYNAMODB_HOME_REGION,
        settings.DYNAMODB_ENDPOINT_URL or None,
        float(settings.DYNAMODB_CONNECT_TIMEOUT),
        float(settings.DYNAMODB_READ_TIMEOUT),
        int(settings.DYNAMODB_MAX_ATTEMPTS),
        int(settings.EDGE_DELIVERY_WORKERS),
        int(settings.DYNAMODB_SCAN_SEGMENTS),
    )


def get_client(region: str | None = None):
    """The cached low-level client for `region` (the home region by default).

    Keyed by the settings it was built from, so a test that overrides them gets
    a fresh client; `reset_client()` drops them all.
    """
    key = _client_key(region)
    client = _clients.get(key)
    if client is not None:
        return client
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _build_client(*key)
            _clients[key] = client
    return client


def _build_client(region, endpoint_url, connect_timeout, read_timeout, max_attempts, workers, segments):
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
        # Enough connections for the delivery pool and a parallel Scan at once.
        max_pool_connections=max(10, workers + segments),
    )
    session = boto3.session.Session()
    kwargs = {}
    if endpoint_url and session.get_credentials() is None:
        # A local endpoint accepts any signature; don't make a laptop configure AWS.
        kwargs = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return session.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **kwargs)


def reset_client() -> None:
    """Forget every cached client (tests that change the endpoint or timeouts)."""
    with _client_lock:
        _clients.clear()


def _table() -> str:
    return settings.DYNAMODB_TABLE


def _classify(exc: Exception) -> Exception:
    """Turn a botocore failure into EdgeStoreUnavailable (retry later) or EdgeStoreError."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"{code}: {message}"[:400]
        if code in RETRYABLE_CODES or status >= 500:
            return EdgeStoreUnavailable(text)
        return EdgeStoreError(text)
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return EdgeStoreUnavailable(f"{type(exc).__name__}: {exc}"[:400])
    if isinstance(exc, NoCredentialsError):
        return EdgeStoreError(f"{type(exc).__name__}: {exc}"[:400])
    return EdgeStoreUnavailable(f"{type(exc).__name__}: {exc}"[:400])


# --- Items ----------------------------------------------------------------------


def build_item(*, hostname: str, workspace_id: str, version: int, state: str, now: datetime | None = None) -> dict:
    """The DynamoDB item for one hostname; tombstones carry a TTL a few days ahead."""
    if state not in EdgeState.values:
        raise ValueError(f"unknown edge state {state!r}")
    now = now or datetime.now(UTC)
    item = {
        "host": {"S": hostname},
        "workspace_id": {"S": workspace_id},
        "version": {"N": str(int(version))},
        "state": {"S": state},
        "updated_at": {"S": now.isoformat(timespec="seconds").replace("+00:00", "Z")},
    }
    if state == EdgeState.GONE:
        expires = now + timedelta(days=settings.EDGE_TOMBSTONE_DAYS)
        item["expires_at"] = {"N": str(int(expires.timestamp()))}
    return item


def put_item(*, hostname: str, workspace_id: str, version: int, state: str) -> WriteResult:
    """Write the item if the stored version is lower or absent.

    Raises EdgeStoreUnavailable for connection errors and throttling (after
    botocore's bounded retries) and EdgeStoreError for anything else.
    """
    item = build_item(hostname=hostname, workspace_id=workspace_id, version=version, state=state)
    return _put_versioned(item, version)


def get_item(hostname: str) -> dict | None:
    """What the edge table holds for `hostname` right now (strongly consistent), or None."""
    try:
        response = get_client().get_item(TableName=_table(), Key={"host": {"S": hostname}}, ConsistentRead=True)
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _classify(exc) from exc
    raw = response.get("Item")
    return EdgeItem.from_dynamodb(raw).as_dict() if raw else None


# --- Shards and the head (the edge's host map; formats in edge_function.shards) ----------


def _put_versioned(item: dict, version: int) -> WriteResult:
    try:
        get_client().put_item(
            TableName=_table(),
            Item=item,
            ConditionExpression=_VERSION_CONDITION,
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={":version": {"N": str(int(version))}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return WriteResult.SUPERSEDED
        raise _classify(exc) from exc
    except (BotoCoreError, OSError) as exc:
        raise _classify(exc) from exc
    return WriteResult.WRITTEN


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def put_shard(*, key: str, count: int, index: int, version: int, data: bytes, digest: str, hosts: int) -> WriteResult:
    """Write a shard item if the stored one is older (or absent); SUPERSEDED otherwise."""
    item = {
        "host": {"S": key},
        "version": {"N": str(int(version))},
        "count": {"N": str(int(count))},
        "index": {"N": str(int(index))},
        "format": {"N": "1"},
        "hosts": {"N": str(int(hosts))},
        "digest": {"S": digest},
        "data": {"B": data},
        "updated_at": {"S": _stamp()},
    }
    return _put_versioned(item, version)


def put_head(*, key: str, count: int, version: int, data: bytes) -> WriteResult:
    """Write the head item if the stored one is older (or absent); SUPERSEDED otherwise."""
    item = {
        "host": {"S": key},
        "version": {"N": str(int(version))},
        "count": {"N": str(int(count))},
        "format": {"N": "1"},
        "data": {"B": data},
        "updated_at": {"S": _stamp()},
    }
    return _put_versioned(item, version)


def get_raw(key: str) -> dict | None:
    """The item keyed `key` as DynamoDB returns it (strongly consistent), or None."""
    try:
        response = get_client().get_item(TableName=_table(), Key={"host": {"S": key}}, ConsistentRead=True)
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _classify(exc) from exc
    return response.get("Item")


def stored_version(key: str) -> int | None:
    """The version of the item keyed `key` (strongly consistent), or None when there is none."""
    try:
        response = get_client().get_item(
            TableName=_table(),
            Key={"host": {"S": key}},
            ConsistentRead=True,
            ProjectionExpression="#v",
            ExpressionAttributeNames={"#v": "version"},
        )
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _classify(exc) from exc
    item = response.get("Item")
    return int(item["version"]["N"]) if item and "version" in item else None


def delete_item(key: str) -> None:
    try:
        get_client().delete_item(TableName=_table(), Key={"host": {"S": key}})
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _classify(exc) from exc


def scan_items(*, segments: int | None = None, page_size: int | None = None) -> Iterator[EdgeItem]:
    """Every item of the table, read by `segments` parallel Scan workers.

    Yields as pages arrive; order is unspecified. Raises EdgeStoreUnavailable
    or EdgeStoreError if any segment fails, so a caller never mistakes a
    partial scan for the whole table.
    """
    segments = max(1, segments or settings.DYNAMODB_SCAN_SEGMENTS)
    client = get_client()
    table = _table()
    pages: queue.Queue = queue.Queue(maxsize=segments * 4)
    done = object()
    stop = threading.Event()

    def scan_segment(segment: int) -> None:
        kwargs = {
            "TableName": table,
            "ProjectionExpression": "#h, #w, #v, #s, #d",
            "ExpressionAttributeNames": _SCAN_NAMES,
        }
        if segments > 1:
            kwargs.update(Segment=segment, TotalSegments=segments)
        if page_size:
            kwargs["Limit"] = page_size
        try:
            while not stop.is_set():
                response = client.scan(**kwargs)
                pages.put([EdgeItem.from_dynamodb(raw) for raw in response.get("Items", [])])
                last = response.get("LastEvaluatedKey")
                if not last:
                    break
                kwargs["ExclusiveStartKey"] = last
        except (BotoCoreError, ClientError, OSError) as exc:
            pages.put(_classify(exc))
        finally:
            pages.put(done)

    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="edge-scan") as pool:
        for segment in range(segments):
            pool.submit(scan_segment, segment)
        finished = 0
        try:
            while finished < segments:
                page = pages.get()
                if page is done:
                    finished += 1
                elif isinstance(page, Exception):
                    raise page
                else:
                    yield from page
        finally:
            stop.set()
            # Unblock workers waiting on a full queue so the pool can shut down.
            while finished < segments:
                try:
                    if pages.get(timeout=0.1) is done:
                        finished += 1
                except queue.Empty:
                    continue


# --- The table ------------------------------------------------------------------

KEY_SCHEMA = [{"AttributeName": "host", "KeyType": "HASH"}]
ATTRIBUTE_DEFINITIONS = [{"AttributeName": "host", "AttributeType": "S"}]
TTL_ATTRIBUTE = "expires_at"


@dataclass
class TableDescription:
    name: str
    status: str
    item_count: int
    key_schema: list
    billing_mode: str
    stream_view_type: str | None
    ttl_attribute: str | None
    ttl_status: str
    replicas: list[dict]

    def differences(self) -> list[str]:
        """How this table differs from what the edge needs; empty when it matches."""
        found = []
        if self.key_schema != KEY_SCHEMA:
            found.append(f"key schema is {self.key_schema}, expected partition key 'host' (S) only")
        if self.ttl_attribute != TTL_ATTRIBUTE or self.ttl_status not in ("ENABLED", "ENABLING"):
            found.append(
                f"TTL is {self.ttl_status or 'DISABLED'} on {self.ttl_attribute!r}, expected ENABLED on 'expires_at'"
            )
        if self.billing_mode != "PAY_PER_REQUEST":
            found.append(f"billing mode is {self.billing_mode}, expected PAY_PER_REQUEST (on-demand)")
        if self.stream_view_type != "NEW_AND_OLD_IMAGES":
            found.append(
                f"stream is {self.stream_view_type or 'off'}, expected NEW_AND_OLD_IMAGES (global tables need it)"
            )
        return found


def describe_table(client=None) -> TableDescription | None:
    """The table's shape and state, or None when it does not exist."""
    client = client or get_client()
    name = _table()
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    try:
        ttl = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    except ClientError:
        ttl = {}
    key_types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    key_schema = [dict(k) for k in table.get("KeySchema", [])]
    if any(key_types.get(k["AttributeName"]) != "S" for k in key_schema):
        key_schema = [{**k, "AttributeType": key_types.get(k["AttributeName"])} for k in key_schema]
    stream = table.get("StreamSpecification") or {}
    return TableDescription(
        name=name,
        status=table.get("TableStatus", "UNKNOWN"),
        item_count=int(table.get("ItemCount", 0)),
        key_schema=key_schema,
        billing_mode=(table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        ttl_attribute=ttl.get("AttributeName"),
        ttl_status=ttl.get("TimeToLiveStatus", "DISABLED"),
        replicas=[
            {"region": r.get("RegionName"), "status": r.get("ReplicaStatus", "UNKNOWN")}
            for r in table.get("Replicas", [])
        ],
    )


def _wait_for_table(client, *, until: Callable[[dict], bool], delay: float, max_attempts: int) -> dict:
    for _ in range(max_attempts):
        table = client.describe_table(TableName=_table())["Table"]
        if until(table):
            return table
        time.sleep(delay)
    raise EdgeStoreError(f"table {_table()} did not settle after {delay * max_attempts:.0f}s")


def create_table(
    *,
    replica_regions: list[str] | None = None,
    client=None,
    delay: float = 5.0,
    max_attempts: int = 360,
    say: Callable[[str], None] = logger.info,
) -> list[str]:
    """Create the edge table if missing, then add each missing replica region one at a time.

    Idempotent. Returns how an existing table differs from what the edge needs
    (nothing is changed on it beyond adding missing replicas and enabling TTL
    when it is off).
    """
    client = client or get_client()
    name = _table()
    replica_regions = settings.DYNAMODB_REPLICA_REGIONS if replica_regions is None else replica_regions
    existing = describe_table(client)
    differences: list[str] = []
    if existing is None:
        say(f"Creating table {name} ...")
        client.create_table(
            TableName=name,
            AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
            KeySchema=KEY_SCHEMA,
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        _wait_for_table(
            client, until=lambda t: t.get("TableStatus") == "ACTIVE", delay=delay, max_attempts=max_attempts
        )
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        say(f"Table {name} is ACTIVE, TTL on {TTL_ATTRIBUTE}.")
        current_replicas: set[str] = set()
    else:
        say(f"Table {name} already exists ({existing.status}).")
        differences = existing.differences()
        if existing.ttl_status == "DISABLED" and existing.ttl_attribute is None:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
            )
            say(f"Enabled TTL on {TTL_ATTRIBUTE}.")
            differences = [d for d in differences if not d.startswith("TTL")]
        for difference in differences:
            say(f"Differs: {difference}")
        current_replicas = {r["region"] for r in existing.replicas}

    home = settings.DYNAMODB_HOME_REGION
    for region in replica_regions:
        if region == home or region in current_replicas:
            continue
        say(f"Adding replica {region} ...")
        # One replica at a time: DynamoDB refuses a second update while one is in progress.
        client.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": region}}])
        _wait_for_table(
            client,
            until=lambda t, r=region: (
                t.get("TableStatus") == "ACTIVE"
                and any(x.get("RegionName") == r and x.get("ReplicaStatus") == "ACTIVE" for x in t.get("Replicas", []))
            ),
            delay=delay,
            max_attempts=max_attempts,
        )
        say(f"Replica {region} is ACTIVE.")
        current_replicas.add(region)
    return differences
