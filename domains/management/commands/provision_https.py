"""`manage.py provision_https [--dry-run]`: a CloudFront tenant for every domain proven while provisioning was off."""

from django.core.management.base import BaseCommand, CommandError

from domains.errors import InvalidTransition
from domains.services.provisioning import cdn_backfill


class Command(BaseCommand):
    help = (
        "Give every active or misconfigured domain without a CloudFront distribution tenant one (it turns "
        "provisioning, then active once its certificate is issued): for turning CloudFront on under existing domains."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the domains without changing anything.")

    def handle(self, *args, dry_run=False, **options):
        try:
            done, refused = cdn_backfill(dry_run=dry_run)
        except InvalidTransition as exc:
            raise CommandError(str(exc)) from exc
        verb = "Would provision" if dry_run else "Provisioning"
        for domain in done:
            self.stdout.write(f"{verb}: {domain.hostname}")
        for domain, why in refused:
            self.stdout.write(f"Skipped: {domain.hostname} ({why})")
        self.stdout.write(
            f"{len(done)} domain(s) {'to provision' if dry_run else 'provisioning'}, {len(refused)} skipped."
        )
