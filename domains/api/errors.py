"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"?, "retry_after"?}}."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from domains.errors import (
    CheckRateLimited,
    HostnameBlocked,
    HostnameTaken,
    InvalidHostname,
    InvalidTransition,
    NotAllowed,
    WorkspaceLimitReached,
)
from domains.models import Domain


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request; use a new key."
    default_code = "idempotency_key_reused"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than the API accepts ({limit} bytes).")


def _translate(exc: Exception) -> Exception:
    """Domain errors (raised by services and selectors) as the API exceptions they mean."""
    if isinstance(exc, InvalidHostname):
        return exceptions.ValidationError({"hostname": [str(exc)]})
    if isinstance(exc, (Domain.DoesNotExist, Http404)):
        return exceptions.NotFound()
    if isinstance(exc, (NotAllowed, DjangoPermissionDenied)):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, HostnameBlocked):
        return Conflict(str(exc), code="hostname_blocked")
    if isinstance(exc, HostnameTaken):
        return Conflict(str(exc), code="hostname_taken")
    if isinstance(exc, WorkspaceLimitReached):
        return Conflict(str(exc), code="workspace_limit_reached")
    if isinstance(exc, InvalidTransition):
        return Conflict(str(exc), code="invalid_transition")
    if isinstance(exc, CheckRateLimited):
        # Our sentence already says when: no DRF "Expected available in N seconds." after it.
        throttled = exceptions.Throttled(detail=str(exc))
        throttled.wait = exc.retry_after_seconds
        return throttled
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, met when DRF reads the body
        return RequestTooLarge()
    return exc


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """{"field": ["message", ...]} with nested serializers' fields as dotted paths."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                fields.update(_flatten(value, name))
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    fields.update(_flatten(item, f"{name}.{i}"))
            else:
                fields[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    else:
        fields[prefix or "non_field_errors"] = [str(m) for m in (detail if isinstance(detail, list) else [detail])]
    return fields


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: dict):
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        body = {"code": "invalid", "message": "Some fields are invalid.", "fields": fields}
        if list(fields) == ["non_field_errors"]:
            body["message"] = fields["non_field_errors"][0]
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        body = {"code": _code(exc), "message": str(detail)}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait + 0.999)
            if body["message"].startswith(str(exceptions.Throttled.default_detail)):
                # DRF's two sentences ("Request was throttled. Expected available in N seconds.") as one.
                body["message"] = f"Too many requests; try again in {body['retry_after']} s."
    response.data = {"error": body}
    return response


def error_response(
    status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The same shape for errors raised before or outside DRF (see portal.urls.handler400 and handler500)."""
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return JsonResponse({"error": body}, status=status_code)
