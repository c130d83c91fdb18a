"""Check a hostname's DNS from the shell.

    manage.py check_domain gallery.client.com [--json]
        checks the domain's row now (recorded like "Check now", moving its status as a check does);
        when several workspaces claim the hostname, the one holding it, else the newest claim
    manage.py check_domain gallery.client.com --target k3x9.domain.ve.ai [--token T] [--apex] [--json]
        checks any hostname against the given target, with no database row and nothing recorded

Exit status: 0 verified, 1 not verified, 2 DNS did not answer (transient), 3 bad input.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Case, Value, When

from domains.dns import CheckRequest, get_checker
from domains.hostnames import InvalidHostname, is_apex, normalize_hostname
from domains.models import HOLDING_STATUSES, CheckOutcome, Domain
from domains.services import domain_check

EXIT_VERIFIED, EXIT_NOT_VERIFIED, EXIT_TRANSIENT, EXIT_BAD_INPUT = 0, 1, 2, 3


def bad_input(message: str) -> CommandError:
    """Printed without a traceback; exits 3, since 1 means "not verified" here."""
    return CommandError(message, returncode=EXIT_BAD_INPUT)


class Command(BaseCommand):
    help = "Check a hostname's DNS now. Exit 0 verified, 1 not verified, 2 transient, 3 bad input."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        # argparse exits 2 on a usage error, which here means "transient".
        def error(message: str) -> None:
            parser.print_usage(sys.stderr)
            sys.stderr.write(f"{parser.prog}: error: {message}\n")
            sys.exit(EXIT_BAD_INPUT)

        parser.error = error
        return parser

    def add_arguments(self, parser):
        parser.add_argument("hostname", help="the hostname, e.g. gallery.client.com (a pasted URL works too)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument(
            "--target",
            metavar="NAME",
            help="check against this CNAME target instead of a domain row (nothing is recorded)",
        )
        parser.add_argument(
            "--token", default="", help="with --target: the token expected in TXT _ve-verify.<hostname>"
        )
        parser.add_argument("--apex", action="store_true", default=None, help="with --target: check as an apex domain")

    def handle(self, *args, hostname: str, target: str | None, token: str, apex: bool | None, **options):
        if target is None and (token or apex):
            raise bad_input("--token and --apex only go with --target.")
        try:
            # Support may check any hostname against a target, even one inside the platform's zones.
            host = normalize_hostname(hostname, platform_zones=() if target else None)
        except InvalidHostname as error:
            raise bad_input(str(error)) from None
        if target is not None:
            report = self._check_target(host, target=target, token=token, apex=apex)
        else:
            report = self._check_row(host)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._print(report)
        outcome = report["outcome"]
        sys.exit(
            EXIT_VERIFIED
            if outcome == CheckOutcome.VERIFIED
            else EXIT_TRANSIENT
            if outcome == CheckOutcome.TRANSIENT
            else EXIT_NOT_VERIFIED
        )

    def _check_row(self, host: str) -> dict:
        holding_first = Case(When(status__in=HOLDING_STATUSES, then=Value(0)), default=Value(1))
        domain = Domain.objects.filter(hostname=host).order_by(holding_first, "-created_at").first()
        if domain is None:
            raise bad_input(f"No domain {host} in the database; pass --target NAME to check it against a target.")
        before = domain.status
        check = domain_check(domain=domain, manual=True)
        domain.refresh_from_db()
        return {
            "hostname": host,
            "outcome": check.outcome,
            "message": check.message,
            "expected": check.expected,
            "found": check.found,
            "duration_ms": check.duration_ms,
            "status_before": before,
            "status": domain.status,
            "next_check_at": domain.next_check_at.isoformat() if domain.next_check_at else None,
        }

    def _check_target(self, host: str, *, target: str, token: str, apex: bool | None) -> dict:
        target = target.strip().rstrip(".").lower()
        try:
            normalize_hostname(target, platform_zones=())
        except InvalidHostname as error:
            raise bad_input(f"--target: {error}") from None
        as_apex = is_apex(host) if apex is None else apex
        result = get_checker().check(CheckRequest(hostname=host, token=token, is_apex=as_apex, target=target))
        return result.to_dict()

    def _print(self, report: dict) -> None:
        style = {
            CheckOutcome.VERIFIED: self.style.SUCCESS,
            CheckOutcome.TRANSIENT: self.style.WARNING,
        }.get(report["outcome"], self.style.ERROR)
        self.stdout.write(style(f"{report['hostname']}: {report['outcome']}"))
        self.stdout.write(f"  {report['message']}")
        for hop in report["found"]:
            records = ", ".join(hop["records"]) or hop["status"]
            where = hop["server"] or "no server"
            if hop.get("authoritative"):
                where += ", authoritative"
            self.stdout.write(f"  {hop['type']:<5} {hop['name']} → {records}  ({where})")
            if hop.get("error"):
                self.stdout.write(f"        {hop['error']}")
        if "status" in report:
            change = (
                f"{report['status_before']} → {report['status']}"
                if report["status_before"] != report["status"]
                else report["status"]
            )
            self.stdout.write(f"  status: {change}; next check {report['next_check_at'] or 'none'}")
