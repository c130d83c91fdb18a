from django.contrib import admin
from django.core.exceptions import RequestDataTooBig
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from domains.api.errors import error_response
from portal.health import healthz
from portal.middleware import UnreadableRequest

API_PREFIX = "/api/"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("domains.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("workspace/", include("workspaces.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("domains.urls")),
]


# Django answers some requests itself, before or around the views: a NUL byte
# (portal.middleware), a Host not in ALLOWED_HOSTS, a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE, a path no pattern matches, an unexpected error.
# Under /api/ those answers keep the API's one error shape; elsewhere they are
# the site's usual pages.


def handler400(request, exception=None):
    if not request.path.startswith(API_PREFIX):
        return defaults.bad_request(request, exception)
    if isinstance(exception, UnreadableRequest):
        return error_response(400, "invalid", str(exception), fields={exception.where: [exception.reason]})
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, "request_too_large", "The request body is larger than the API accepts.")
    return error_response(400, "bad_request", "The request could not be read.")


def handler404(request, exception=None):
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception)
    return error_response(404, "not_found", "No such API endpoint.")


def handler500(request):
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request)
    return error_response(500, "server_error", "Something went wrong on our side; it has been logged.")
