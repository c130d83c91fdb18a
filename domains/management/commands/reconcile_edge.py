"""`manage.py reconcile_edge [--dry-run]`: compare the edge table with the database and repair drift."""

import json

from django.core.management.base import BaseCommand, CommandError

from domains.edge import store as edge_store
from domains.edge.reconcile import edge_reconcile


class Command(BaseCommand):
    help = "Compare the whole edge table with the servable domains and repair drift through versioned writes."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report drift without writing anything.")
        parser.add_argument("--segments", type=int, help="Parallel Scan segments (default DYNAMODB_SCAN_SEGMENTS).")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")

    def handle(self, *args, dry_run=False, segments=None, as_json=False, **options):
        try:
            report = edge_reconcile(dry_run=dry_run, segments=segments)
        except (edge_store.EdgeStoreError, edge_store.EdgeStoreUnavailable) as exc:
            raise CommandError(f"The edge table could not be read: {exc}") from exc
        if as_json:
            self.stdout.write(_json(report.as_dict()))
            return
        self.stdout.write(f"Scanned:   {report.scanned} items; {report.expected} domains should be served")
        self.stdout.write(f"In sync:   {report.in_sync}")
        self.stdout.write(f"Missing:   {report.missing}")
        self.stdout.write(f"Stale:     {report.stale}")
        self.stdout.write(f"Extra:     {report.extra}")
        for kind, hosts in report.samples.items():
            self.stdout.write(f"  {kind}: {', '.join(hosts)}")
        shards = report.shards
        if shards:
            self.stdout.write(
                f"Shards:    {shards['checked']} of {shards['count']} checked; in sync {shards['in_sync']}, "
                f"missing {shards['missing']}, stale {shards['stale']}, being built {shards['building']}, "
                f"old {shards['extra']} ({shards['deleted']} deleted); head {'stale' if shards['head_stale'] else 'ok'}"
                + (", repaired" if shards["repaired"] else "")
            )
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing written."))
        else:
            self.stdout.write(
                f"Repaired:  {report.written} written, {report.superseded} already newer, {report.failed} failed "
                f"({report.bumped} versions bumped)"
            )
        self.stdout.write(
            f"Took {report.seconds:.1f}s (scan {report.scan_seconds:.1f}s, database {report.db_seconds:.1f}s)"
        )
        if report.failed:
            raise CommandError(f"{report.failed} repair(s) could not be written; the sweep will retry them.")


def _json(data: dict) -> str:
    return json.dumps(data, default=str, sort_keys=True)
