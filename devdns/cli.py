"""Edit the devdns state file from the shell; a running server picks changes up at once.

    python -m devdns add gallery.client.com CNAME k3x9.domain.ve.ai
    python -m devdns add _ve-verify.client.com TXT k3x9          (several values: one multi-string TXT)
    python -m devdns remove gallery.client.com [CNAME [VALUE]]
    python -m devdns list [--json]
    python -m devdns fault gallery.client.com --servfail | --timeout | --refused | --truncate | --hangup | --latency MS
    python -m devdns fault gallery.client.com --refer com [--refer-ns ns1.evil.net] [--refer-glue 127.0.0.2]
    python -m devdns fault gallery.client.com --clear
    python -m devdns latency 20                                  (every answer, in ms)
    python -m devdns clear

The state file is --state, else $DEVDNS_STATE, else var/devdns.json (relative
to the working directory: the one `make run` uses when run from the checkout).

Exit status: 0 done; 1 `remove` matched nothing, or the state file cannot be
read or written; 2 bad input (a usage line and the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from devdns.store import RECORD_TYPES, Fault, StateFileError, Store

DEFAULT_STATE = "var/devdns.json"
STATE_ENV = "DEVDNS_STATE"


def default_state() -> str:
    return os.environ.get(STATE_ENV) or DEFAULT_STATE


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devdns",
        description="Edit the records and faults of devdns, the loopback DNS server.",
    )
    parser.add_argument(
        "--state",
        default=default_state(),
        help=f"state file shared with the server (default: ${STATE_ENV}, else {DEFAULT_STATE}; now %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{add,remove,list,fault,latency,clear}")

    add = commands.add_parser("add", help="add a record")
    add.add_argument("name")
    add.add_argument("type", type=str.upper, choices=RECORD_TYPES)
    add.add_argument(
        "values",
        nargs="+",
        metavar="value",
        help="several values make one multi-string TXT",
    )
    add.add_argument("--ttl", type=_non_negative, default=60)

    remove = commands.add_parser("remove", help="remove records of a name")
    remove.add_argument("name")
    remove.add_argument("type", nargs="?", type=str.upper, choices=RECORD_TYPES)
    remove.add_argument("values", nargs="*", metavar="value")

    listing = commands.add_parser("list", help="show records, faults and latency")
    listing.add_argument("--json", action="store_true", help="print the state as JSON")

    fault = commands.add_parser("fault", help="make the server misbehave for one name")
    fault.add_argument("name")
    fault.add_argument("--latency", type=_non_negative, default=0, metavar="MS", help="delay answers")
    for flag in ("servfail", "timeout", "refused", "truncate", "hangup"):
        fault.add_argument(f"--{flag}", action="store_true")
    fault.add_argument("--refer", default="", metavar="ZONE", help="answer with a referral to this zone instead")
    fault.add_argument("--refer-ns", default="", metavar="HOST", help="the referral's name server (ns1.ZONE)")
    fault.add_argument(
        "--refer-glue", default="", metavar="ADDRESS", help="the name server's glue address (this server's)"
    )
    fault.add_argument("--clear", action="store_true", help="answer normally again")

    latency = commands.add_parser("latency", help="delay every answer")
    latency.add_argument("ms", type=_non_negative)

    commands.add_parser("clear", help="remove all records, faults and latency")
    return parser


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Carry out parsed arguments; the exit status. Raises ValueError on bad input."""
    store = Store(args.state)
    if args.command == "add":
        value = args.values if args.type == "TXT" else _single(args.values, args.type)
        record = store.add(args.name, args.type, value, ttl=args.ttl)
        print(f"added {record.name} {record.ttl} {record.type} {record.value}", file=out)
    elif args.command == "remove":
        value = None
        if args.values:
            value = args.values if args.type == "TXT" else _single(args.values, args.type)
        removed = store.remove(args.name, args.type, value)
        print(f"removed {removed} record{'s' if removed != 1 else ''}", file=out)
        return 0 if removed else 1
    elif args.command == "list":
        state = store.load()
        if args.json:
            print(json.dumps(state.to_json(), indent=2), file=out)
            return 0
        for r in sorted(state.records, key=lambda r: (r.name, r.type, r.value)):
            print(f"{r.name} {r.ttl} {r.type} {r.value}", file=out)
        for name, f in sorted(state.faults.items()):
            active = ", ".join(f"{k}={v}" for k, v in asdict(f).items() if v)
            print(f"fault {name}: {active}", file=out)
        if state.latency_ms:
            print(f"latency {state.latency_ms} ms on every answer", file=out)
    elif args.command == "fault":
        fault = (
            Fault()
            if args.clear
            else Fault(
                latency_ms=args.latency,
                servfail=args.servfail,
                timeout=args.timeout,
                refused=args.refused,
                truncate=args.truncate,
                hangup=args.hangup,
                refer=args.refer,
                refer_ns=args.refer_ns,
                refer_glue=args.refer_glue,
            )
        )
        store.set_fault(args.name, fault)
        print(f"fault for {args.name}: {'cleared' if fault.is_noop else fault}", file=out)
    elif args.command == "latency":
        store.set_latency(args.ms)
        print(f"latency {args.ms} ms on every answer", file=out)
    elif args.command == "clear":
        store.clear()
        print("cleared all records, faults and latency", file=out)
    return 0


def _single(values: Sequence[str], rdtype: str) -> str:
    if len(values) != 1:
        raise ValueError(f"a {rdtype} record takes exactly one value, not {len(values)}")
    return values[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad usage: argparse prints it and exits 2
    try:
        return run(args)
    except (StateFileError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        parser.error(str(exc))  # exits 2
