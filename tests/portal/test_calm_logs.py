"""A calm log: the beat's routine no-ops at DEBUG, an expected 403 in one line."""

import logging
import sys

from portal.logging import CalmFilter


def record(name, msg, args, level=logging.INFO, exc_info=None, **extra):
    rec = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_the_dispatcher_finding_nothing_is_debug_and_hidden_at_info(settings):
    settings.CELERY_BEAT_SCHEDULE = {"dispatch": {"task": "domains.dispatch_due_checks", "schedule": 5.0}}
    logging.getLogger().setLevel(logging.INFO)
    calm = CalmFilter()
    noop = record(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        ({"name": "domains.dispatch_due_checks", "id": "1", "runtime": 0.01, "return_value": "0"},),
    )
    assert calm.filter(noop) is False and noop.levelno == logging.DEBUG
    sent = record("celery.beat", "Scheduler: Sending due task %s (%s)", ("dispatch", "domains.dispatch_due_checks"))
    assert calm.filter(sent) is False
    received = record(
        "celery.worker.strategy",
        "Task %(name)s[%(id)s] received",
        ({"name": "domains.dispatch_due_checks", "id": "1"},),
    )
    assert calm.filter(received) is False
    did_work = record(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        ({"name": "domains.dispatch_due_checks", "id": "2", "runtime": 0.2, "return_value": "3"},),
    )
    assert calm.filter(did_work) is True and did_work.levelno == logging.INFO
    other = record(
        "celery.worker.strategy", "Task %(name)s[%(id)s] received", ({"name": "domains.check_domain_now", "id": "3"},)
    )
    assert calm.filter(other) is True


def test_an_expected_403_is_one_line():
    try:
        raise PermissionError("nope")
    except PermissionError:
        info = sys.exc_info()
    forbidden = record(
        "django.request", "Forbidden (Permission denied): %s", ("/x/",), logging.WARNING, info, status_code=403
    )
    assert CalmFilter().filter(forbidden) is True
    assert forbidden.exc_info is None and "\n" not in logging.Formatter().format(forbidden)


def test_axes_finding_nothing_to_clean_up_after_a_sign_in_is_debug_and_hidden_at_info():
    logging.getLogger().setLevel(logging.INFO)
    calm = CalmFilter()
    message = "AXES: Cleaned up %s expired access attempts from database that were older than %s"
    nothing = record("axes.handlers.database", message, (0, "2026-11-30 06:33:03"))
    assert calm.filter(nothing) is False and nothing.levelno == logging.DEBUG
    something = record("axes.handlers.database", message, (3, "2026-11-30 06:33:03"))
    assert calm.filter(something) is True and something.levelno == logging.INFO
