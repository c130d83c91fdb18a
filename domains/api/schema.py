"""OpenAPI pieces shared by the API views: auth scheme, common parameters, error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from domains.api.serializers import ErrorSerializer
from workspaces.api import WORKSPACE_HEADER, WORKSPACE_PARAM


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "vek_<key id>_<secret>",
            "description": "A workspace API key; it acts as its creator in the key's workspace.",
        }


WORKSPACE_PARAMETERS = [
    OpenApiParameter(
        WORKSPACE_PARAM,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Session users: the workspace's public id (ws_...). Defaults to your first workspace by name. "
        f"With an API key it may only name the key's own workspace. The {WORKSPACE_HEADER} header does the same.",
    ),
    OpenApiParameter(
        WORKSPACE_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=f"The same as the {WORKSPACE_PARAM} query parameter, for clients that prefer a header.",
    ),
    # Every operation is throttled per key, so every one may answer 429 with this header.
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[429],
        description="Seconds to wait before trying again.",
    ),
]


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


E400 = error(
    "Invalid input: `fields` holds the messages per field (any operation: a NUL byte in a parameter or header)."
)
E401 = error("No credentials, or an invalid or revoked API key.")
E403 = error("Authenticated, but the role does not allow this (members only read).")
E404 = error("No such domain in this workspace (other workspaces' domains are never revealed), or no such workspace.")
E409 = error("Conflict: hostname_taken, hostname_blocked, workspace_limit_reached or invalid_transition.")
E422 = error("idempotency_key_reused: the Idempotency-Key was used with a different request.")


def e429(description: str = "Too many requests for this API key; see Retry-After.") -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# Every operation reads parameters and headers, so every one may answer 400 (a NUL byte, a bad cursor).
COMMON_READ = {400: E400, 401: E401, 403: E403, 404: E404, 429: e429()}
COMMON_WRITE = {400: E400, 401: E401, 403: E403, 404: E404, 429: e429()}
# Operations that read a JSON body: one over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before any view runs.
E413 = error("request_too_large: the request body is larger than the API accepts.")
WITH_BODY = {413: E413}
