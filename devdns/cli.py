"""Edit the devdns state file from the shell; a running server picks changes up at once.

    python -m devdns add gallery.client.com CNAME k3x9.domain.ve.ai
    python -m devdns add _ve-verify.client.com TXT k3x9          (several values: one multi-string TXT)
    python -m devdns remove gallery.client.com [CNAME [VALUE]]
    python -m devdns list [--json]
    python -m devdns fault gallery.client.com --servfail | --timeout | --refused | --truncate | --latency MS
    python -m devdns fault gallery.client.com --clear
    python -m devdns latency 20                                  (every answer, in ms)
    python -m devdns clear

The state file is --state, else $DEVDNS_STATE, else var/devdns.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from devdns.store import RECORD_TYPES, Fault, Store

DEFAULT_STATE = "var/devdns.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devdns", description="Edit the records and faults of devdns.")
    add_arguments(parser, default_state=os.environ.get("DEVDNS_STATE", DEFAULT_STATE))
    return parser


def add_arguments(parser: argparse.ArgumentParser, *, default_state: str) -> None:
    """The options and sub-commands, also added to the `manage.py devdns` parser."""
    parser.add_argument(
        "--state",
        default=default_state,
        help="state file shared with the server (default: %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    add = commands.add_parser("add", help="add a record")
    add.add_argument("name")
    add.add_argument("type", type=str.upper, choices=RECORD_TYPES)
    add.add_argument(
        "values",
        nargs="+",
        metavar="value",
        help="several values make one multi-string TXT",
    )
    add.add_argument("--ttl", type=int, default=60)

    remove = commands.add_parser("remove", help="remove records of a name")
    remove.add_argument("name")
    remove.add_argument("type", nargs="?", type=str.upper, choices=RECORD_TYPES)
    remove.add_argument("values", nargs="*", metavar="value")

    listing = commands.add_parser("list", help="show records, faults and latency")
    listing.add_argument("--json", action="store_true", help="print the state as JSON")

    fault = commands.add_parser("fault", help="make the server misbehave for one name")
    fault.add_argument("name")
    fault.add_argument("--latency", type=int, default=0, metavar="MS", help="delay answers")
    for flag in ("servfail", "timeout", "refused", "truncate"):
        fault.add_argument(f"--{flag}", action="store_true")
    fault.add_argument("--clear", action="store_true", help="answer normally again")

    latency = commands.add_parser("latency", help="delay every answer")
    latency.add_argument("ms", type=int)

    commands.add_parser("clear", help="remove all records, faults and latency")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Carry out parsed arguments; shared with the Django `manage.py devdns` wrapper."""
    store = Store(args.state)
    if args.command == "add":
        value = args.values if args.type == "TXT" else _single(args.values, args.type)
        record = store.add(args.name, args.type, value, ttl=args.ttl)
        _say(out, f"added {record.name} {record.ttl} {record.type} {record.value}")
    elif args.command == "remove":
        value = None
        if args.values:
            value = args.values if args.type == "TXT" else _single(args.values, args.type)
        removed = store.remove(args.name, args.type, value)
        _say(out, f"removed {removed} record{'s' if removed != 1 else ''}")
        return 0 if removed else 1
    elif args.command == "list":
        state = store.load()
        if args.json:
            _say(out, json.dumps(state.to_json(), indent=2))
            return 0
        for r in sorted(state.records, key=lambda r: (r.name, r.type, r.value)):
            _say(out, f"{r.name} {r.ttl} {r.type} {r.value}")
        for name, f in sorted(state.faults.items()):
            active = ", ".join(f"{k}={v}" for k, v in asdict(f).items() if v)
            _say(out, f"fault {name}: {active}")
        if state.latency_ms:
            _say(out, f"latency {state.latency_ms} ms on every answer")
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
            )
        )
        store.set_fault(args.name, fault)
        _say(out, f"fault for {args.name}: {'cleared' if fault.is_noop else fault}")
    elif args.command == "latency":
        store.set_latency(args.ms)
        _say(out, f"latency {args.ms} ms on every answer")
    elif args.command == "clear":
        store.clear()
        _say(out, "cleared all records, faults and latency")
    return 0


def _say(out: TextIO, line: str) -> None:
    # write() rather than print(): Django's OutputWrapper adds its own newline.
    out.write(line + "\n")


def _single(values: Sequence[str], rdtype: str) -> str:
    if len(values) != 1:
        raise ValueError(f"a {rdtype} record takes exactly one value")
    return values[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        parser.error(str(exc))
