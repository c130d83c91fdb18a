"""The integrations API's URLs, mounted under /api/v1/."""

from django.http import JsonResponse
from django.urls import re_path
from rest_framework.routers import SimpleRouter

from domains.api.views import DomainViewSet
from notifications.api import WebhookViewSet

router = SimpleRouter()
router.register("domains", DomainViewSet, basename="api-domain")
router.register("webhooks", WebhookViewSet, basename="api-webhook")


def not_found(request, path=""):
    """Unknown API URLs answer in the API's error shape rather than the site's HTML page."""
    return JsonResponse({"error": {"code": "not_found", "message": "No such API endpoint."}}, status=404)


urlpatterns = [*router.urls, re_path(r"^(?P<path>.*)$", not_found)]
