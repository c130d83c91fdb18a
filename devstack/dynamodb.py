"""The local DynamoDB endpoint (moto server) with the edge table created and reconciled.

The moto server keeps its data in memory, so a restarted stack starts with an
empty table; the reconciler fills it from the database at once.
"""

import argparse
import logging
import os
import threading

from moto.server import ThreadedMotoServer

logger = logging.getLogger("devstack.dynamodb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("edge_table", "create", "--wait-delay", "0.2")
    call_command("reconcile_edge")
    logger.info("local DynamoDB endpoint ready", extra={"endpoint": f"http://127.0.0.1:{args.port}"})
    threading.Event().wait()  # serve until honcho stops us


if __name__ == "__main__":
    main()
