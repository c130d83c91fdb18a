"""What the API says about notification events; no business rules here."""

from rest_framework import serializers

from notifications.models import Event


class NotificationEventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="message_id", help_text="The message id webhooks carry (webhook-id).")
    payload = serializers.JSONField(help_text='The body integrations receive: {"type", "timestamp", "data"}.')

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "payload"]
        read_only_fields = fields
