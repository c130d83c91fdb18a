"""The devdns state file: records and faults, shared by the server, the CLI and tests.

One JSON file is the whole interface between processes: writers replace it
atomically (temporary file + rename) under an advisory lock, and the server
re-reads it whenever it changes. Names are stored lowercase without the
trailing dot; values in DNS presentation format, validated when added.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT", "NS")
DEFAULT_TTL = 60


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True)
class Fault:
    """How the server misbehaves for queries about one name."""

    latency_ms: int = 0
    servfail: bool = False
    timeout: bool = False  # drop the query: the client sees no answer at all
    refused: bool = False
    truncate: bool = False  # UDP answers carry only the TC bit; TCP gets the full answer
    hangup: bool = False  # UDP answers carry only the TC bit; TCP connections are closed unanswered
    # Answer with a referral instead (not authoritative): zone `refer` is served by
    # `refer_ns` (default ns1.<refer>), whose glue address is `refer_glue`
    # (default: this server's own address). A referral to the name's own zone
    # refers back to the same servers; one to `com` claims a zone the server has
    # no say over.
    refer: str = ""
    refer_ns: str = ""
    refer_glue: str = ""

    @property
    def is_noop(self) -> bool:
        return self == Fault()


@dataclass(frozen=True)
class State:
    records: tuple[Record, ...] = ()
    faults: Mapping[str, Fault] = field(default_factory=dict)
    latency_ms: int = 0  # added to every answer, on top of any per-name latency

    def to_json(self) -> dict:
        return {
            "records": [asdict(r) for r in self.records],
            "faults": {name: asdict(f) for name, f in sorted(self.faults.items())},
            "latency_ms": self.latency_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> State:
        return cls(
            records=tuple(Record(**r) for r in data.get("records", ())),
            faults={name: Fault(**f) for name, f in data.get("faults", {}).items()},
            latency_ms=int(data.get("latency_ms", 0)),
        )


# Letters, digits, hyphens, and the underscores of service labels such as _ve-verify.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")


def normalize_name(name: str) -> str:
    """Lowercase ASCII form without the trailing dot; raises ValueError if invalid."""
    try:
        parsed = dns.name.from_text(name.strip())
    except dns.exception.DNSException as exc:
        raise ValueError(f"invalid DNS name {name!r}: {exc}") from exc
    text = parsed.to_text(omit_final_dot=True).lower()
    labels = text.split(".")
    # A wildcard (RFC 4592) is a leftmost "*" label: *.domain.ve.ai answers for every name below.
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid DNS name {name!r}: use letters, digits, hyphens and underscores")
    return text


def normalize_value(rdtype: str, value: str | Sequence[str]) -> str:
    """Canonical presentation text for a record value; raises ValueError if invalid.

    A TXT value may be a sequence of strings (one multi-string record) or a
    single unquoted string; a value starting with a quote is taken as
    presentation text as it would appear in a zone file.
    """
    rdtype = rdtype.upper()
    if rdtype not in RECORD_TYPES:
        raise ValueError(f"unsupported record type {rdtype!r}; use one of {', '.join(RECORD_TYPES)}")
    try:
        if rdtype == "TXT" and (not isinstance(value, str) or not value.startswith('"')):
            strings = [value] if isinstance(value, str) else list(value)
            rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [s.encode() for s in strings])
        else:
            if not isinstance(value, str):
                raise ValueError(f"a {rdtype} record takes one value")
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN,
                rdtype,
                value.strip(),
                origin=dns.name.root,
                relativize=False,
            )
    except dns.exception.DNSException as exc:
        raise ValueError(f"invalid {rdtype} value {value!r}: {exc}") from exc
    text = rdata.to_text()
    # Names inside values compare case-insensitively, like the names themselves.
    return text.lower() if rdtype in ("CNAME", "NS") else text


class StateFileError(ValueError):
    """The state file exists but cannot be read as a devdns state."""


class Store:
    """Reads and atomically rewrites one devdns state file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> State:
        """The current state; an empty one when the file does not exist yet."""
        try:
            with self.path.open(encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return State()
        except (OSError, ValueError) as exc:
            raise StateFileError(f"cannot read the state file {self.path}: {exc}") from exc
        try:
            return State.from_json(data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"{self.path} is not a devdns state file: {exc!r}") from exc

    def records(self) -> list[Record]:
        return list(self.load().records)

    def add(
        self,
        name: str,
        rdtype: str,
        value: str | Sequence[str],
        *,
        ttl: int = DEFAULT_TTL,
    ) -> Record:
        """Add a record; adding one that already exists only updates its TTL."""
        record = Record(normalize_name(name), rdtype.upper(), normalize_value(rdtype, value), ttl)
        self._update(lambda s: replace(s, records=(*(r for r in s.records if not _same_rr(r, record)), record)))
        return record

    def remove(
        self,
        name: str,
        rdtype: str | None = None,
        value: str | Sequence[str] | None = None,
    ) -> int:
        """Remove the records of a name, optionally only of one type or one value.

        Returns how many records were removed.
        """
        name = normalize_name(name)
        rdtype = rdtype.upper() if rdtype else None
        wanted = normalize_value(rdtype, value) if rdtype and value is not None else None

        def matches(r: Record) -> bool:
            return r.name == name and (rdtype is None or r.type == rdtype) and (wanted is None or r.value == wanted)

        before = self._update(lambda s: replace(s, records=tuple(r for r in s.records if not matches(r))))
        return sum(1 for r in before.records if matches(r))

    def set_fault(self, name: str, fault: Fault) -> None:
        """Make the server misbehave for one name; a no-op fault clears it."""
        name = normalize_name(name)
        fault = _normalized_fault(fault)

        def change(state: State) -> State:
            faults = {k: v for k, v in state.faults.items() if k != name}
            if not fault.is_noop:
                faults[name] = fault
            return replace(state, faults=faults)

        self._update(change)

    def clear_fault(self, name: str) -> None:
        self.set_fault(name, Fault())

    def set_latency(self, latency_ms: int) -> None:
        """Delay every answer by this many milliseconds."""
        if latency_ms < 0:
            raise ValueError("latency cannot be negative")
        self._update(lambda s: replace(s, latency_ms=latency_ms))

    def replace_records(self, records: Sequence[Record]) -> None:
        """Replace all records at once, e.g. to publish thousands for a benchmark."""
        self._update(lambda s: replace(s, records=tuple(records)))

    def clear(self) -> None:
        """Forget all records, faults and latency."""
        self._update(lambda s: State())

    def _update(self, change: Callable[[State], State]) -> State:
        """Apply `change` under an exclusive lock; returns the state before it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A separate lock file, because the state file itself is replaced on every write.
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            before = self.load()
            self._write(change(before))
        return before

    def _write(self, state: State) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state.to_json(), f, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _normalized_fault(fault: Fault) -> Fault:
    """The fault with its referral names and address in canonical form; ValueError if invalid."""
    if not (fault.refer or fault.refer_ns or fault.refer_glue):
        return fault
    if not fault.refer:
        raise ValueError("a referral needs the zone it refers to (refer)")
    zone = "." if fault.refer.strip() == "." else normalize_name(fault.refer)
    ns = normalize_name(fault.refer_ns) if fault.refer_ns else ""
    glue = ""
    if fault.refer_glue:
        try:
            glue = str(ipaddress.ip_address(fault.refer_glue.strip()))
        except ValueError:
            raise ValueError(f"invalid glue address {fault.refer_glue!r}") from None
    return replace(fault, refer=zone, refer_ns=ns, refer_glue=glue)


def _same_rr(a: Record, b: Record) -> bool:
    return (a.name, a.type, a.value) == (b.name, b.type, b.value)
