"""Queue Celery tasks after the surrounding transaction commits, without ever failing the caller.

The database is the source of truth and periodic sweeps find whatever is due,
so a broker that is down delays work; it must not turn a tenant's request into
an error.
"""

import logging

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args, **log_fields) -> None:
    def send() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # any broker failure: connection refused, timeout, auth
            logger.warning("could not queue %s; the periodic sweep will pick it up", task.name, extra=log_fields, exc_info=True)

    transaction.on_commit(send)
