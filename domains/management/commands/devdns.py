"""manage.py devdns: edit the loopback DNS server's records (wraps python -m devdns).

    manage.py devdns add gallery.client.com CNAME k3x9.domain.ve.ai
    manage.py devdns remove gallery.client.com
    manage.py devdns list
    manage.py devdns fault gallery.client.com --timeout

The state file is --state, else the DEVDNS_STATE setting or environment
variable, else var/devdns.json: the one `make run` starts the server with.
"""

import argparse
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devdns import cli


class Command(BaseCommand):
    help = "Add, remove and list records of the loopback DNS server, or make it misbehave."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        default_state = getattr(settings, "DEVDNS_STATE", None) or os.environ.get("DEVDNS_STATE", cli.DEFAULT_STATE)
        cli.add_arguments(parser, default_state=default_state)

    def handle(self, *args, **options) -> None:
        try:
            code = cli.run(argparse.Namespace(**options), out=self.stdout)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if code:
            raise CommandError("nothing matched", returncode=code)
