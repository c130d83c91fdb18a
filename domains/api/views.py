"""The integrations API: thin views over the domain services and selectors."""

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from domains import selectors, services
from domains.api import schema
from domains.api.errors import IdempotencyKeyReused
from domains.api.pagination import CheckPagination, DomainPagination, EventPagination
from domains.api.permissions import WorkspaceRole
from domains.api.serializers import (
    CheckSerializer,
    DomainCreateSerializer,
    DomainDetailSerializer,
    DomainFilterSerializer,
    DomainSerializer,
    EventSerializer,
)
from domains.errors import DomainError
from domains.models import Domain, DomainStatus
from notifications.selectors import domain_notification_events
from notifications.serializers import NotificationEventSerializer
from workspaces import services as workspace_services

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _request_hash(request) -> str:
    payload = json.dumps({"path": request.path, "body": request.data}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional, up to 255 characters. A repeat with the same key and body within 24 h returns the "
    "first response again (with `Idempotent-Replayed: true`); the same key with another body is refused (422).",
)


@extend_schema_view(
    list=extend_schema(
        summary="List the workspace's domains",
        parameters=[
            *schema.WORKSPACE_PARAMETERS,
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=DomainStatus.values, description="Only domains in this status."
            ),
            OpenApiParameter("search", OpenApiTypes.STR, description="Hostnames containing this text."),
        ],
        responses={200: DomainSerializer(many=True), 400: schema.E400, **schema.COMMON_READ},
    ),
    create=extend_schema(
        summary="Add a domain",
        parameters=[*schema.WORKSPACE_PARAMETERS, IDEMPOTENCY_PARAMETER],
        request=DomainCreateSerializer,
        responses={
            201: OpenApiResponse(
                DomainDetailSerializer, description="The new domain, with the DNS records to publish."
            ),
            400: schema.E400,
            409: schema.E409,
            422: schema.E422,
            **schema.COMMON_WRITE,
            **schema.WITH_BODY,
        },
    ),
    retrieve=extend_schema(
        summary="One domain",
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={200: DomainDetailSerializer, **schema.COMMON_READ},
    ),
    destroy=extend_schema(
        summary="Remove a domain (and from the edge)",
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={204: OpenApiResponse(description="Removed."), **schema.COMMON_WRITE},
    ),
)
class DomainViewSet(viewsets.GenericViewSet):
    """Domains of the acting workspace (see WorkspaceRole for how it is chosen)."""

    permission_classes = [IsAuthenticated, WorkspaceRole]
    serializer_class = DomainSerializer
    pagination_class = DomainPagination
    queryset = Domain.objects.none()  # for the schema; get_queryset is always scoped
    lookup_field = "pk"
    # Any id reaches the view, so a malformed one is the API's JSON 404, not the site's HTML page.
    lookup_value_regex = "[^/]+"

    # --- reads ----------------------------------------------------------------

    def get_queryset(self) -> QuerySet[Domain]:
        return selectors.annotate_edge_state(selectors.domain_list(user=self.request.user, workspace=self.workspace))

    def get_domain(self) -> Domain:
        try:
            return self.get_queryset().get(pk=self.kwargs["pk"])
        except (ValueError, TypeError, DjangoValidationError, Domain.DoesNotExist):  # a malformed id is just as unknown
            raise exceptions.NotFound("No such domain.") from None

    def _detail(self, domain: Domain, *, status_code: int = status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), "last_check": selectors.domain_last_check(domain=domain)}
        return Response(DomainDetailSerializer(domain, context=context).data, status=status_code)

    def _refetched(self, domain: Domain) -> Domain:
        return self.get_queryset().get(pk=domain.pk)

    def list(self, request):
        filters = DomainFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if wanted := filters.validated_data.get("status"):
            queryset = queryset.filter(status=wanted)
        if text := (filters.validated_data.get("search") or "").strip().lower():
            queryset = queryset.filter(Q(hostname__contains=text) | Q(display_hostname__icontains=text))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DomainSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_domain())

    # --- writes ---------------------------------------------------------------

    def create(self, request):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        request_hash = ""
        if key is not None:
            key = key.strip()
            if not key or len(key) > 255:
                raise exceptions.ValidationError({IDEMPOTENCY_HEADER: ["Use a key of 1 to 255 characters."]})
            request_hash = _request_hash(request)
            if (record := workspace_services.idempotency_record_get(workspace=self.workspace, key=key)) is not None:
                return self._replay(record, request_hash)
        serializer = DomainCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            domain = services.domain_create(
                user=request.user, workspace=self.workspace, hostname=serializer.validated_data["hostname"]
            )
        except DomainError:
            # A concurrent request with the same key may have won the race: answer as it did.
            if key and (record := workspace_services.idempotency_record_get(workspace=self.workspace, key=key)):
                return self._replay(record, request_hash)
            raise
        response = self._detail(self._refetched(domain), status_code=status.HTTP_201_CREATED)
        if key:
            workspace_services.idempotency_record_save(
                workspace=self.workspace,
                key=key,
                request_hash=request_hash,
                status=response.status_code,
                body=json.loads(json.dumps(response.data, default=str)),
            )
        return response

    def _replay(self, record, request_hash: str) -> Response:
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})

    def destroy(self, request, pk=None):
        services.domain_delete(user=request.user, domain=self.get_domain())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Check the domain's DNS now (queued)",
        description="Queues a check of the domain's DNS and answers at once: a check can take up to the "
        "server's DNS deadline (10 s by default) when the domain's name servers are slow. When it ends, "
        "its result is the domain's `last_check` (and the newest of `checks/`), and the status moves as "
        "it says; poll `GET /domains/{id}/` to see it.",
        request=None,
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={
            202: OpenApiResponse(
                DomainDetailSerializer,
                description="The check is queued (or already under way); the domain as it is now, whose "
                "`last_check` is still the previous one.",
            ),
            **schema.COMMON_WRITE,
            409: schema.E409,
            429: schema.e429("Checked too recently (or too many requests); see Retry-After."),
        },
    )
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        domain = self.get_domain()
        services.domain_check_queue(user=request.user, domain=domain)
        return self._detail(self._refetched(domain), status_code=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Retry a failed domain (failed → pending)",
        request=None,
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={200: DomainDetailSerializer, 409: schema.E409, **schema.COMMON_WRITE},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        domain = services.domain_retry(user=request.user, domain=self.get_domain())
        return self._detail(self._refetched(domain))

    # --- history --------------------------------------------------------------

    @extend_schema(
        summary="The domain's events, newest first",
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={200: EventSerializer(many=True), **schema.COMMON_READ},
    )
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def events(self, request, pk=None):
        page = self.paginate_queryset(selectors.domain_events(domain=self.get_domain()))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        summary="The domain's notification events (what webhooks carry), newest first; kept 30 days",
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={200: NotificationEventSerializer(many=True), **schema.COMMON_READ},
    )
    @action(detail=True, methods=["get"], url_path="notification-events", pagination_class=EventPagination)
    def notification_events(self, request, pk=None):
        page = self.paginate_queryset(domain_notification_events(domain=self.get_domain()))
        return self.get_paginated_response(NotificationEventSerializer(page, many=True).data)

    @extend_schema(
        summary="The domain's DNS checks, newest first",
        parameters=schema.WORKSPACE_PARAMETERS,
        responses={200: CheckSerializer(many=True), **schema.COMMON_READ},
    )
    @action(detail=True, methods=["get"], pagination_class=CheckPagination)
    def checks(self, request, pk=None):
        page = self.paginate_queryset(selectors.domain_checks(domain=self.get_domain()))
        return self.get_paginated_response(CheckSerializer(page, many=True).data)
