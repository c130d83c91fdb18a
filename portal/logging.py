"""Structured log lines: `time level logger msg key=value ...`.

Extra fields passed through `logger.info(..., extra={...})` are appended as
key=value pairs, so a domain's journey can be followed with `grep host=...`.
Each line also carries the id of the web request or Celery task it belongs to.
"""

import contextvars
import logging
import uuid

# Attributes every LogRecord carries; anything else came from `extra=`.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(ch in text for ch in ' ="'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _current_task_id() -> str | None:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a runtime dependency
        return None
    task = current_task
    return getattr(getattr(task, "request", None), "id", None) if task else None


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        if rid := request_id.get():
            parts.append(f"request_id={rid}")
        if tid := _current_task_id():
            parts.append(f"task_id={tid}")
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                parts.append(f"{key}={_quote(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RequestIdMiddleware:
    """Tags each request's log lines (and its response) with an id, reusing a proxy's X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


# What a routine task returns when it found nothing to do.
NOTHING_DONE = ("0", "None", "[]", "{}", "()", "False")


class CalmFilter(logging.Filter):
    """Keep routine no-ops and expected refusals out of the way (a handler filter).

    The beat's periodic tasks (every few seconds: the check dispatcher, the
    sweeps) being sent, received, and finishing with nothing done are logged at
    DEBUG, shown only when LOG_LEVEL is DEBUG; a periodic task that did work
    (or failed) is logged as before. So is django-axes finding no expired
    sign-in attempts to clean up after each sign-in. An expected 403 (django.request's
    "Forbidden") is one line, without a traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
            return True
        if self._routine(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True

    @staticmethod
    def _routine(record: logging.LogRecord) -> bool:
        from django.conf import settings

        periodic = {entry["task"] for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()}
        args = record.args
        if record.name == "celery.beat" and isinstance(args, tuple) and len(args) >= 2:
            return args[1] in periodic  # "Scheduler: Sending due task <entry> (<task>)"
        if record.name == "celery.worker.strategy" and isinstance(args, dict):
            return args.get("name") in periodic  # "Task <name>[<id>] received"
        if record.name == "celery.app.trace" and isinstance(args, dict):
            return args.get("name") in periodic and str(args.get("return_value")) in NOTHING_DONE
        if record.name.startswith("axes.") and isinstance(args, tuple) and args:
            return record.msg.startswith("AXES: Cleaned up %s") and args[0] == 0  # after every sign-in
        return False
