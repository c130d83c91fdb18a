"""Queue Celery tasks after the surrounding transaction commits, without ever failing the caller.

The database is the source of truth and periodic sweeps find whatever is due,
so a broker that is down delays work; it must not turn a tenant's request into
an error, nor stall a worker that is activating a batch of domains.
"""

import logging
import threading
import time

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

# After a failed publish, skip publishing for this long: each attempt against a
# dead broker costs seconds, and the sweeps deliver the work anyway.
BROKER_DOWN_BACKOFF_SECONDS = 30.0

_broker_down_until = 0.0
_lock = threading.Lock()


def enqueue_on_commit(task_name: str, *args, **log_fields) -> None:
    """Queue the task registered as `task_name` with `args` once the current transaction commits.

    Tasks are named rather than imported, so services can queue work without
    importing the tasks module that imports them.
    """

    def send() -> None:
        global _broker_down_until
        if time.monotonic() < _broker_down_until:
            logger.info("broker recently unreachable; leaving %s to the periodic sweep", task_name, extra=log_fields)
            return
        try:
            _publish(task_name, args)
        except (KombuOperationalError, OSError):  # the broker is unreachable: refused, timeout
            with _lock:
                _broker_down_until = time.monotonic() + BROKER_DOWN_BACKOFF_SECONDS
            logger.warning(
                "could not queue %s; the periodic sweep will pick it up", task_name, extra=log_fields, exc_info=True
            )
        except Exception:  # anything else (a task run eagerly failing): still never the caller's problem
            logger.exception("could not queue %s; the periodic sweep will pick it up", task_name, extra=log_fields)

    transaction.on_commit(send)


def _publish(task_name: str, args: tuple) -> None:
    # Looked up when sent: the app's registry imports every tasks module on first use.
    current_app.tasks[task_name].apply_async(args=args, retry=False)


def reset_broker_backoff() -> None:
    """Forget a past broker failure (tests start each case with a reachable broker)."""
    global _broker_down_until
    _broker_down_until = 0.0
