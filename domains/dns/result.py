"""What the checker is asked and what it answers: plain, JSON-serialisable values."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    VERIFIED = "verified"
    WRONG_TARGET = "wrong_target"  # a record exists but points elsewhere (incl. loops, long chains)
    MISSING = "missing"  # NXDOMAIN or NODATA where a record is needed
    TOKEN_MISSING = "token_missing"  # the _ve-verify TXT record lacks the token
    TRANSIENT = "transient"  # timeout, SERVFAIL, REFUSED, network error: retry, change nothing


@dataclass(frozen=True)
class CheckRequest:
    """One hostname and what proves it.

    `target` is the domain's unique CNAME target; by default
    `<token>.<CNAME_ZONE>`. Support tools may pass any target (and an empty
    token) to check a hostname that has no database row.
    """

    hostname: str
    token: str
    is_apex: bool = False
    target: str | None = None


@dataclass(frozen=True)
class Hop:
    """One question asked and what came back."""

    name: str
    type: str  # "CNAME", "TXT", "A", "AAAA"
    status: str  # "answer", "nxdomain", "nodata", or "error" (no definitive answer)
    records: tuple[str, ...] = ()
    server: str | None = None  # "ip:port" that answered (or, on error, was tried last)
    authoritative: bool = False  # answered by the zone's own name server, not a resolver
    error: str | None = None  # why no server answered, per server tried

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "records": list(self.records),
            "server": self.server,
            "authoritative": self.authoritative,
            "error": self.error,
        }


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one hostname; `to_dict()` is what a DomainCheck row stores."""

    hostname: str
    outcome: Outcome
    expected: Mapping[str, Any]
    hops: tuple[Hop, ...]
    message: str  # one sentence the tenant can act on
    duration_ms: float = field(default=0.0, compare=False)

    @property
    def verified(self) -> bool:
        return self.outcome is Outcome.VERIFIED

    @property
    def definitive(self) -> bool:
        """False for transient results, which must never change a domain's status."""
        return self.outcome is not Outcome.TRANSIENT

    @property
    def found(self) -> list[dict[str, Any]]:
        return [hop.to_dict() for hop in self.hops]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "outcome": self.outcome.value,
            "expected": dict(self.expected),
            "found": self.found,
            "message": self.message,
            "duration_ms": round(self.duration_ms, 1),
        }
