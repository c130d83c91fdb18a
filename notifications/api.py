"""The webhooks API (/api/v1/webhooks/): thin views over notifications.webhooks; same auth, errors and OpenAPI."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from domains.api import schema
from domains.api.pagination import EventPagination, Pagination
from domains.api.permissions import WorkspaceRole
from notifications import webhooks
from notifications.events import EVENT_TYPES, unknown_event_type_message
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointPagination(Pagination):
    ordering = ("created_at", "id")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        # A ChoiceField: OpenAPI lists the types as an enum, and a typo is a field error, not a filter that never matches.
        child=serializers.ChoiceField(
            choices=EVENT_TYPES, error_messages={"invalid_choice": unknown_event_type_message("{input}")}
        ),
        required=False,
        max_length=50,
        help_text=f"Event types to send ({', '.join(EVENT_TYPES)}); empty sends every type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "disabled_reason", "failing_since", "created_at"]
        read_only_fields = ["id", "disabled_reason", "failing_since", "created_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (whsec_…); shown only here.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["started_at", "status_code", "latency_ms", "error", "excerpt"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.message_id", help_text="The webhook-id the receiver saw.")
    event_type = serializers.CharField(source="event.type")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True, help_text="Every attempt, newest first.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]


READ = {"parameters": schema.WORKSPACE_PARAMETERS}


@extend_schema_view(
    list=extend_schema(
        summary="The workspace's webhook endpoints",
        responses={200: WebhookEndpointSerializer(many=True), **schema.COMMON_READ},
        **READ,
    ),
    retrieve=extend_schema(
        summary="One webhook endpoint", responses={200: WebhookEndpointSerializer, **schema.COMMON_READ}, **READ
    ),
    create=extend_schema(
        summary="Add a webhook endpoint (its secret is shown once)",
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **schema.COMMON_WRITE, **schema.WITH_BODY},
        **READ,
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint (url, events, description, enabled)",
        request=WebhookEndpointSerializer,
        responses={200: WebhookEndpointSerializer, **schema.COMMON_WRITE, **schema.WITH_BODY},
        **READ,
    ),
    destroy=extend_schema(
        summary="Remove a webhook endpoint",
        responses={204: OpenApiResponse(description="Removed."), **schema.COMMON_WRITE},
        **READ,
    ),
)
class WebhookViewSet(viewsets.GenericViewSet):
    """Webhook endpoints of the acting workspace: members read, owners and admins change."""

    permission_classes = [IsAuthenticated, WorkspaceRole]
    serializer_class = WebhookEndpointSerializer
    pagination_class = EndpointPagination
    queryset = WebhookEndpoint.objects.none()
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.filter(workspace=self.workspace)

    def get_endpoint(self) -> WebhookEndpoint:
        try:
            return self.get_queryset().get(pk=self.kwargs["pk"])
        except (ValueError, TypeError, DjangoValidationError, WebhookEndpoint.DoesNotExist):
            raise exceptions.NotFound("No such webhook endpoint.") from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSerializer(self.get_endpoint()).data)

    def create(self, request):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            endpoint = webhooks.endpoint_create(
                user=request.user,
                workspace=self.workspace,
                url=data["url"],
                events=data.get("events", []),
                description=data.get("description", ""),
            )
        except webhooks.WebhookRefused as exc:
            raise exceptions.ValidationError({"url": [str(exc)]}) from None
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        endpoint = self.get_endpoint()
        serializer = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = webhooks.endpoint_update(user=request.user, endpoint=endpoint, **serializer.validated_data)
        except webhooks.WebhookRefused as exc:
            raise exceptions.ValidationError({"url": [str(exc)]}) from None
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, pk=None):
        webhooks.endpoint_delete(user=request.user, endpoint=self.get_endpoint())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a webhook.test event to this endpoint",
        request=None,
        responses={202: WebhookDeliverySerializer, **schema.COMMON_WRITE},
        **READ,
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = webhooks.endpoint_test(user=request.user, endpoint=self.get_endpoint())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="This endpoint's deliveries with every attempt, newest first",
        responses={200: WebhookDeliverySerializer(many=True), **schema.COMMON_READ},
        **READ,
    )
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def deliveries(self, request, pk=None):
        queryset = (
            WebhookDelivery.objects.filter(endpoint=self.get_endpoint())
            .select_related("event")
            .prefetch_related("attempt_log")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send one delivery again now (same webhook-id)",
        request=None,
        responses={202: WebhookDeliverySerializer, **schema.COMMON_WRITE},
        **READ,
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[^/]+)/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        try:
            delivery = WebhookDelivery.objects.select_related("endpoint__workspace").get(
                pk=delivery_id, endpoint=self.get_endpoint()
            )
        except (ValueError, TypeError, WebhookDelivery.DoesNotExist):  # a malformed id is just as unknown
            raise exceptions.NotFound("No such delivery.") from None
        delivery = webhooks.delivery_redeliver(user=request.user, delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
