"""The integrations API's URLs, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from domains.api.views import DomainViewSet

router = SimpleRouter()
router.register("domains", DomainViewSet, basename="api-domain")

urlpatterns = router.urls
