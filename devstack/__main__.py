"""`make run`: the whole stack locally, offline. Ctrl-C stops everything."""

import os
import shlex
import sys
import time
from pathlib import Path

from devstack.stack import PROCFILE, ROOT, Ports, Stack, not_up_yet

STARTING = "\n  VE.AI custom domains is starting; the processes' logs follow. Ctrl-C stops everything.\n"
TRY_IT = """
  1. Sign in:       http://127.0.0.1:{web}/   as alice / ve-demo-2026   (bob: read-only member; charlie: another workspace)
  2. Add a webhook: http://127.0.0.1:{receiver}/hooks  under Webhooks, no type ticked: every event (the demo receiver)
  3. Add a domain:  gallery.client-domain.com  — its page shows the CNAME target to publish
  4. Publish it on the local DNS:
       {devdns_add}
  5. Watch the page turn "Setting up HTTPS" within about 10 s while it is open (every 15 s when closed; or press
     "Check now"), then Active, live over HTTPS, about 10-20 s after the record (about 20 s when published
     right after adding: checks stay 15 s apart)
  6. Request it through the local CloudFront:
       curl -H 'Host: gallery.client-domain.com' http://127.0.0.1:{edge}/
     and over HTTPS, once its certificate is issued (pebble, the local ACME CA; trust {ca_file}):
       curl --cacert {ca_file} https://gallery.client-domain.com:{edge_tls}/ --resolve gallery.client-domain.com:{edge_tls}:127.0.0.1
  7. …and your integration heard about it: http://127.0.0.1:{receiver}/ lists domain.created, domain.provisioning
     and domain.active, each signature verified with the endpoint's secret (JSON: /received.json)
  Mail (alice's "gallery.client-domain.com is live"): http://127.0.0.1:{mailbox}/  (JSON: /messages.json; kept under var/mail/)
  Admin (support staff): http://127.0.0.1:{web}/admin/  as support / ve-demo-2026
  API docs:              http://127.0.0.1:{web}/api/docs/
  Health:                http://127.0.0.1:{web}/healthz
  Local CloudFront API:  http://127.0.0.1:{cloudfront}/  (boto3 endpoint_url; its tenants: /edgelocal/state)
"""


READY = "\n  Everything is up: /healthz is green, beat ticks and a worker runs tasks after {seconds:.0f} s. Try it:\n"


def announce_when_up(
    healthz_url: str, text: str, *, token: str, started: float, timeout: float = 600.0, step: float = 1.0
) -> bool:
    """Print `text` again, with the time it took, once `healthz_url` answers 200 and its details (read with
    `token`) show beat and a worker fresh: the logs have scrolled the block away, and a domain added before
    a worker takes tasks would not verify yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not not_up_yet(healthz_url, token):
            print(READY.format(seconds=time.monotonic() - started) + text, flush=True)
            return True
        time.sleep(step)
    return False


def _shown(path: Path) -> str:
    """A path as a person types it from the checkout: relative when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main() -> None:
    started = time.monotonic()
    stack = Stack(ports=Ports.from_environment(), var_dir=Path(os.environ.get("VAR_DIR", ROOT / "var")))
    stack.prepare()
    devdns_add = shlex.join([".venv/bin/python", *stack.devdns_args("add", "gallery.client-domain.com", "CNAME")])
    try_it = TRY_IT.format(
        web=stack.ports.web,
        edge=stack.ports.edge,
        edge_tls=stack.ports.edge_tls,
        cloudfront=stack.ports.cloudfront,
        receiver=stack.ports.receiver,
        mailbox=stack.ports.mailbox,
        ca_file=_shown(stack.edge_ca_file),
        devdns_add=f"{devdns_add} <target from the page>",
    )
    print(STARTING + try_it, flush=True)
    if os.fork() == 0:  # a watcher beside honcho: the block again once everything is up
        token = stack.environment()["HEALTHZ_TOKEN"]
        up = announce_when_up(stack.healthz_url, try_it, token=token, started=started)
        os._exit(0 if up else 1)
    env = stack.environment()
    os.chdir(ROOT)
    os.execve(sys.executable, [sys.executable, "-m", "honcho", "start", "-f", str(PROCFILE)], env)


if __name__ == "__main__":
    main()
