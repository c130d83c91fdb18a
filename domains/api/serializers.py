"""What the API says about domains, checks and events; no business rules here."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domains.cdn.states import CertificateStatus
from domains.edge.states import EdgeSync
from domains.models import ActorKind, Domain, DomainCheck, DomainEvent, DomainStatus
from domains.presenters import STEP_LABELS, certificate_view, dns_records, suspension_text
from domains.selectors import domain_cdn_tenant


class RecordSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["CNAME", "TXT", "A", "AAAA"])
    name = serializers.CharField(help_text="The full record name.")
    relative_name = serializers.CharField(help_text="The name as a DNS provider's form asks for it; '@' for the zone.")
    zone = serializers.CharField()
    value = serializers.CharField()
    purpose = serializers.CharField()


class StepSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(STEP_LABELS), help_text="dns, certificate, https: in this order.")
    label = serializers.CharField(help_text="For people: DNS record found, Certificate issued, Live over HTTPS.")
    state = serializers.ChoiceField(choices=["done", "current", "todo", "failed"])
    detail = serializers.CharField(help_text="For people; may be empty.")


class CertificateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=CertificateStatus.values,
        allow_null=True,
        help_text="The CloudFront-managed certificate's status; null until one is requested.",
    )
    issued_at = serializers.DateTimeField(allow_null=True, help_text="When the certificate was seen issued.")
    https_url = serializers.URLField(allow_null=True, help_text="Set while the domain is live over HTTPS.")
    problem = serializers.CharField(allow_null=True, help_text="Why HTTPS stopped or never started, for people.")
    steps = StepSerializer(many=True, help_text="DNS record found → certificate issued → live over HTTPS.")


class CheckSerializer(serializers.ModelSerializer):
    expected = serializers.SerializerMethodField()
    found = serializers.SerializerMethodField()

    class Meta:
        model = DomainCheck
        fields = ["id", "checked_at", "outcome", "message", "expected", "found", "manual", "duration_ms"]

    @extend_schema_field({"type": "object", "additionalProperties": True, "description": "What the check looked for."})
    def get_expected(self, check: DomainCheck):
        return check.expected if isinstance(check.expected, dict) else {}

    @extend_schema_field(
        {
            "type": "array",
            "items": {"type": "object", "additionalProperties": True},
            "description": "Each DNS question asked and what came back.",
        }
    )
    def get_found(self, check: DomainCheck):
        return check.found if isinstance(check.found, list) else []


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.ChoiceField(source="actor_kind", choices=ActorKind.choices)
    actor_username = serializers.SerializerMethodField(
        help_text="Who, for a workspace member; null for staff and system."
    )
    reason = serializers.SerializerMethodField(
        help_text="Why the status changed; for a suspension, support's message to the workspace."
    )

    class Meta:
        model = DomainEvent
        fields = ["id", "created_at", "from_status", "to_status", "reason", "actor", "actor_username"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_reason(self, event: DomainEvent) -> str:
        if event.actor_kind == ActorKind.STAFF and event.to_status == DomainStatus.SUSPENDED:
            # Support's internal note stays with support.
            return suspension_text(event.domain)
        return event.reason

    @extend_schema_field(OpenApiTypes.STR)
    def get_actor_username(self, event: DomainEvent) -> str | None:
        if event.actor_kind != ActorKind.USER or event.actor_user is None:
            return None
        return event.actor_user.get_username()


class DomainSerializer(serializers.ModelSerializer):
    records = serializers.SerializerMethodField(help_text="The DNS records to publish to connect the domain.")
    edge_state = serializers.SerializerMethodField(help_text="What the edge currently does with this hostname.")
    certificate = serializers.SerializerMethodField(
        help_text="HTTPS through CloudFront: the certificate and the steps to it; null when this server does not "
        "provision HTTPS."
    )

    class Meta:
        model = Domain
        fields = [
            "id",
            "hostname",
            "display_hostname",
            "status",
            "is_apex",
            "target",
            "records",
            "edge_state",
            "certificate",
            "last_check_outcome",
            "last_checked_at",
            "next_check_at",
            "verified_at",
            "grace_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RecordSerializer(many=True))
    def get_records(self, domain: Domain):
        return RecordSerializer(dns_records(domain, apex_addresses=settings.EDGE_APEX_ADDRESSES), many=True).data

    @extend_schema_field(serializers.ChoiceField(choices=EdgeSync.values, allow_null=True))
    def get_edge_state(self, domain: Domain) -> str | None:
        return getattr(domain, "edge_state", None)

    @extend_schema_field(CertificateSerializer(allow_null=True))
    def get_certificate(self, domain: Domain):
        view = certificate_view(domain, domain_cdn_tenant(domain=domain))
        return CertificateSerializer(view).data if view is not None else None


class DomainDetailSerializer(DomainSerializer):
    last_check = serializers.SerializerMethodField(help_text="The latest check's diagnostics, if any.")

    class Meta(DomainSerializer.Meta):
        fields = [*DomainSerializer.Meta.fields, "last_check"]
        read_only_fields = fields

    @extend_schema_field(CheckSerializer(allow_null=True))
    def get_last_check(self, domain: Domain):
        check = self.context.get("last_check")
        return CheckSerializer(check).data if check is not None else None


class DomainCreateSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=300, help_text="e.g. gallery.client-domain.com (Unicode allowed).")


class DomainFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DomainStatus.choices, required=False)
    search = serializers.CharField(required=False, max_length=253, allow_blank=True)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable, machine-readable: e.g. invalid, not_found, hostname_taken, hostname_blocked."
    )
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for 400: messages per field.",
    )
    retry_after = serializers.IntegerField(required=False, help_text="Only for 429: seconds to wait.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
