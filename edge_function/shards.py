"""The shard function and the shard and head item formats (pure, stdlib only).

The portal imports this module from ``edge_function/`` so that the side that
writes the shards and the side that reads them can never disagree.

- A hostname's shard: the first 63 bits of SHA-256 of its ASCII form, scaled
  onto ``count`` ranges (``hash * count >> 63``). Ranges rather than a modulo,
  so the portal finds a shard's hostnames with an index range scan on the
  stored hash (``shard_hash_range``) for any ``count``.
- A shard item (key ``#shard#<count>#<index>``) holds the compressed map of
  every servable hostname of that shard to its workspace id.
- The head item (key ``#shards#head``) holds the shard count, every shard's
  version, and the recent changes (deltas) that let an edge bring a loaded
  shard up to date without fetching it again.

Hostnames never contain ``#``, so these keys cannot collide with a hostname.
"""

from __future__ import annotations

import bz2
import hashlib
import zlib
from dataclasses import dataclass, field

FORMAT = 1
HEAD_KEY = "#shards#head"
SHARD_PREFIX = "#shard#"
HASH_BITS = 63
# Shards: bzip2 (100 KB blocks). It stores these maps about 16 % smaller than zlib, which is
# read units and load time at every cold start, for a few milliseconds more to decode.
_SHARD_LEVEL = 1
_HEAD_LEVEL = 6  # the head is small and read every poll: zlib


def shard_hash(host: str) -> int:
    """63 bits of SHA-256 of the (normalised, ASCII) hostname: fits a signed 64-bit column."""
    return int.from_bytes(hashlib.sha256(host.encode("ascii")).digest()[:8], "big") >> 1


def shard_of_hash(value: int, count: int) -> int:
    return (value * count) >> HASH_BITS


def shard_of(host: str, count: int) -> int:
    """The shard (0 .. count - 1) that holds ``host`` when there are ``count`` shards."""
    return shard_of_hash(shard_hash(host), count)


def shard_hash_range(index: int, count: int) -> tuple[int, int]:
    """``[low, high)`` of the hashes whose shard is ``index``: shard_of_hash(h) == index exactly there."""
    low = -((-index << HASH_BITS) // count)  # ceil(index * 2**63 / count)
    high = -((-(index + 1) << HASH_BITS) // count)
    return low, high


def shard_key(count: int, index: int) -> str:
    return f"{SHARD_PREFIX}{count}#{index}"


def parse_shard_key(key: str) -> tuple[int, int] | None:
    """``(count, index)`` of a shard key, or None for any other key (a hostname, the head)."""
    if not key.startswith(SHARD_PREFIX):
        return None
    count, _, index = key[len(SHARD_PREFIX) :].partition("#")
    if not (count.isdigit() and index.isdigit()):
        return None
    return int(count), int(index)


def is_meta_key(key: str) -> bool:
    """True for the shard and head items (keys that are not hostnames)."""
    return key.startswith("#")


# --- Shards -------------------------------------------------------------------------


def canonical_text(mapping: dict[str, str]) -> str:
    """One line per workspace, ``ws<TAB>host<TAB>host...``, both sorted: the same map gives the same text."""
    by_workspace: dict[str, list[str]] = {}
    for host, workspace in mapping.items():
        by_workspace.setdefault(workspace, []).append(host)
    return "\n".join("\t".join([workspace, *sorted(hosts)]) for workspace, hosts in sorted(by_workspace.items()))


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def encode_shard(mapping: dict[str, str]) -> tuple[bytes, str]:
    """``(compressed data, digest of the canonical text)`` for a hostname → workspace map."""
    text = canonical_text(mapping)
    return bz2.compress(text.encode("ascii"), _SHARD_LEVEL), digest_text(text)


def decode_shard(data: bytes) -> dict[str, str]:
    """The hostname → workspace map of a shard's data (each workspace id is one shared string)."""
    mapping: dict[str, str] = {}
    text = bz2.decompress(data).decode("ascii")
    if not text:
        return mapping
    for line in text.split("\n"):
        parts = line.split("\t")
        mapping.update(dict.fromkeys(parts[1:], parts[0]))
    return mapping


@dataclass
class Shard:
    count: int
    index: int
    version: int
    mapping: dict[str, str]
    size: int = 0  # bytes of the item's data, for logs and the benchmarks


def shard_from_item(item: dict) -> Shard:
    """A shard item as DynamoDB returns it (low-level attribute values); ValueError if malformed."""
    try:
        if int(item.get("format", {"N": "1"})["N"]) != FORMAT:
            raise ValueError(f"unknown shard format {item['format']['N']}")
        count, index = int(item["count"]["N"]), int(item["index"]["N"])
        data = item["data"]["B"]
        return Shard(count, index, int(item["version"]["N"]), decode_shard(data), len(data))
    except (KeyError, TypeError, OSError, EOFError, UnicodeError) as exc:
        raise ValueError(f"malformed shard item: {type(exc).__name__}: {exc}") from exc


# --- The head -----------------------------------------------------------------------

# A delta: (index, from_version, to_version, {host: workspace, or "" for a host no longer served}).
Delta = tuple[int, int, int, dict[str, str]]


@dataclass
class Head:
    count: int
    version: int
    versions: list[int]
    deltas: dict[tuple[int, int], Delta] = field(default_factory=dict)  # keyed by (index, from_version)

    def chain(self, index: int, start: int, target: int) -> list[Delta] | None:
        """The deltas that take shard ``index`` from version ``start`` to ``target``, or None."""
        steps = []
        current = start
        while current < target:
            delta = self.deltas.get((index, current))
            if delta is None or delta[2] <= current:
                return None
            steps.append(delta)
            current = delta[2]
        return steps if current == target else None


def encode_head(count: int, versions: list[int], deltas: list[Delta]) -> bytes:
    if len(versions) != count:
        raise ValueError("one version per shard")
    lines = [str(count), ",".join(str(int(v)) for v in versions)]
    for index, start, end, changes in deltas:
        parts = [str(index), str(start), str(end)]
        for host, workspace in sorted(changes.items()):
            parts += [host, workspace]
        lines.append("\t".join(parts))
    return zlib.compress("\n".join(lines).encode("ascii"), _HEAD_LEVEL)


def decode_head(data: bytes, version: int = 0) -> Head:
    lines = zlib.decompress(data).decode("ascii").split("\n")
    count = int(lines[0])
    versions = [int(v) for v in lines[1].split(",")] if count else []
    if len(versions) != count:
        raise ValueError(f"head lists {len(versions)} versions for {count} shards")
    deltas: dict[tuple[int, int], Delta] = {}
    for line in lines[2:]:
        parts = line.split("\t")
        index, start, end = int(parts[0]), int(parts[1]), int(parts[2])
        deltas[(index, start)] = (index, start, end, dict(zip(parts[3::2], parts[4::2], strict=True)))
    return Head(count, version, versions, deltas)


def head_from_item(item: dict) -> Head:
    """The head item as DynamoDB returns it; ValueError if malformed."""
    try:
        if int(item.get("format", {"N": "1"})["N"]) != FORMAT:
            raise ValueError(f"unknown head format {item['format']['N']}")
        head = decode_head(item["data"]["B"], int(item["version"]["N"]))
    except (KeyError, TypeError, IndexError, zlib.error, UnicodeError) as exc:
        raise ValueError(f"malformed head item: {type(exc).__name__}: {exc}") from exc
    if head.count < 1:
        raise ValueError("the head names no shards")
    return head
