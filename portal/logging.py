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
