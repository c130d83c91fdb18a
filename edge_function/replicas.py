"""Nearest-replica lookups in the DynamoDB global table.

boto3 is imported on first use, not at module import: most invocations are
cache hits and a cold start should not pay for the SDK before it needs it.
One client per region is created once and reused for the container's life.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

_HOST_PROJECTION = "workspace_id, #state, version"
_TIMEOUTS = frozenset({"ReadTimeoutError", "ConnectTimeoutError", "ReadTimeout", "ConnectTimeout"})
_MIN_CALL_SECONDS = 0.01  # not worth starting a call with less than this left


class LookupFailed(Exception):
    """No replica answered."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{region}: {error}" for region, error in errors))
        self.errors = errors


def area_of(region: str) -> str:
    return region.split("-", 1)[0]


def order_regions(current: str | None, regions: Sequence[str]) -> list[str]:
    """Replica regions nearest first: the same region, then the same area
    (``eu-``, ``us-``, ``ap-`` ...), then the rest in configured order."""
    ordered: list[str] = []
    if current and current in regions:
        ordered.append(current)
    if current:
        area = area_of(current)
        ordered.extend(r for r in regions if area_of(r) == area and r not in ordered)
    ordered.extend(r for r in regions if r not in ordered)
    return ordered


def boto3_client_factory(connect_timeout: float, read_timeout: float) -> Callable:
    session = []

    def make(region: str, endpoint_url: str | None):
        # botocore directly (boto3's own core, shipped with it): ``import boto3``
        # also loads s3transfer and the resource layer, ~40 ms of cold start
        # that a single GetItem never uses.
        import botocore.session
        from botocore.config import Config

        if not session:
            session.append(botocore.session.get_session())

        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Retries are ours (one per region, then the next region): botocore's
            # back-off can sleep for up to a second, far too long at the edge.
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
        )
        return session[0].create_client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)

    return make


class ReplicaReader:
    """GetItem on the nearest replica, retried, then the next replica, all inside one time budget.

    Whatever the replicas do (refuse, time out, accept and never answer), one
    ``get`` ends within ``budget`` seconds: each call's read timeout is cut to
    its replica's share of what is left (the last replica gets all of it), and
    no call starts once it is spent. A timeout moves
    on to the next replica at once (a replica that hung once is likely to hang
    again); other errors are retried ``retries_per_region`` times first. The
    one thing the budget cannot shorten is opening a new TCP connection, which
    keeps the client's connect timeout (so the worst case is the budget plus
    ``connect_timeout_seconds``, and only when a connection attempt itself hangs).
    """

    def __init__(
        self,
        *,
        table: str,
        regions: Sequence[str],
        current_region: str | None,
        endpoint_url: str | None = None,
        endpoint_urls: dict[str, str] | None = None,
        retries_per_region: int = 1,
        client_factory: Callable,
        budget: float = 1.5,
        read_timeout: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.regions = order_regions(current_region, regions)
        self._endpoint_url = endpoint_url
        self._endpoint_urls = endpoint_urls or {}
        self._attempts = 1 + retries_per_region
        self._client_factory = client_factory
        self._clients: dict[str, object] = {}
        self.budget = budget
        self._read_timeout = read_timeout
        self._monotonic = monotonic
        self._call_timeout = budget  # the read timeout of the call being made (see _cut_timeout)

    def _client(self, region: str):
        client = self._clients.get(region)
        if client is None:
            endpoint = self._endpoint_urls.get(region, self._endpoint_url)
            client = self._clients[region] = self._client_factory(region, endpoint)
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:
                events.register("before-send.dynamodb.GetItem", self._cut_timeout)
        return client

    def _cut_timeout(self, request, **kwargs) -> None:
        # botocore honours a per-request read timeout in the request context.
        request.context["read_timeout"] = self._call_timeout

    def deadline(self) -> float:
        """When a lookup starting now must be over (on this reader's monotonic clock)."""
        return self._monotonic() + self.budget

    def get(
        self, host: str, *, deadline: float | None = None, projection: str | None = _HOST_PROJECTION
    ) -> tuple[dict | None, str]:
        """``(item or None, region that answered)`` for the item keyed ``host``; raises LookupFailed.

        ``deadline`` (from ``deadline()``) lets several reads of one request share one budget."""
        if deadline is None:
            deadline = self.deadline()
        errors: list[tuple[str, str]] = []
        request = {"TableName": self.table, "Key": {"host": {"S": host}}}
        if projection:
            request["ProjectionExpression"] = projection
            request["ExpressionAttributeNames"] = {"#state": "state"}
        for index, region in enumerate(self.regions):
            for _ in range(self._attempts):
                left = deadline - self._monotonic()
                if left <= _MIN_CALL_SECONDS:
                    errors.append((region, f"lookup budget of {self.budget:g} s spent"))
                    raise LookupFailed(errors)
                # Each replica still to ask gets its share of what is left, so a
                # hung nearest replica never spends the time a farther one needs.
                share = left / (len(self.regions) - index)
                self._call_timeout = share if self._read_timeout is None else min(share, self._read_timeout)
                try:
                    response = self._client(region).get_item(**request)
                except Exception as exc:  # noqa: BLE001 - any failure means: ask elsewhere
                    errors.append((region, f"{type(exc).__name__}: {exc}"))
                    if _is_permanent(exc) or type(exc).__name__ in _TIMEOUTS:
                        break
                    continue
                return response.get("Item"), region
        raise LookupFailed(errors)


def _is_permanent(exc: Exception) -> bool:
    """A client error that a retry in the same region will not fix (missing
    table, access denied, ...): skip straight to the next replica."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    return 400 <= status < 500 and "Throttl" not in code and code != "RequestLimitExceeded"


def servable_workspace(item: dict | None) -> str | None:
    """The workspace to serve for a stored item, or None (absent, ``gone``,
    or malformed: never guess a tenant)."""
    if not item:
        return None
    try:
        if item["state"]["S"] != "serve":
            return None
        workspace = item["workspace_id"]["S"]
    except (KeyError, TypeError):
        return None
    return workspace or None
