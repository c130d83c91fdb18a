"""`manage.py edge_table create|describe`: the DynamoDB table the edge reads."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from domains.edge import store as edge_store


class Command(BaseCommand):
    help = "Create (idempotently) or describe the edge DynamoDB table in the home region."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "describe"])
        parser.add_argument(
            "--replicas",
            help="Comma-separated replica regions (default: DYNAMODB_REPLICA_REGIONS).",
        )
        parser.add_argument("--wait-delay", type=float, default=5.0, help="Seconds between status polls.")

    def handle(self, *args, action, replicas=None, wait_delay=5.0, **options):
        try:
            if action == "create":
                self._create(replicas, wait_delay)
            self._describe()
        except (edge_store.EdgeStoreError, edge_store.EdgeStoreUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # botocore: credentials, endpoint, validation
            if exc.__class__.__module__.startswith("botocore"):
                raise CommandError(f"{type(exc).__name__}: {exc}") from exc
            raise

    def _create(self, replicas, wait_delay):
        regions = [r.strip() for r in replicas.split(",") if r.strip()] if replicas is not None else None
        differences = edge_store.create_table(replica_regions=regions, delay=wait_delay, say=self.stdout.write)
        if differences:
            self.stdout.write(
                self.style.WARNING(f"The existing table differs in {len(differences)} way(s); fix by hand:")
            )
            for difference in differences:
                self.stdout.write(f"  - {difference}")
        else:
            self.stdout.write(self.style.SUCCESS("Table matches what the edge needs."))

    def _describe(self):
        table = edge_store.describe_table()
        where = settings.DYNAMODB_ENDPOINT_URL or f"AWS {settings.DYNAMODB_HOME_REGION}"
        if table is None:
            raise CommandError(f"Table {settings.DYNAMODB_TABLE} does not exist ({where}).")
        replicas = ", ".join(f"{r['region']} ({r['status']})" for r in table.replicas) or "none"
        self.stdout.write(f"Table:    {table.name} ({where})")
        self.stdout.write(f"Status:   {table.status}")
        self.stdout.write(f"Items:    {table.item_count} (DynamoDB updates this about every 6 hours)")
        self.stdout.write(f"TTL:      {table.ttl_status} on {table.ttl_attribute or '-'}")
        self.stdout.write(f"Stream:   {table.stream_view_type or 'off'}")
        self.stdout.write(f"Replicas: {replicas}")
