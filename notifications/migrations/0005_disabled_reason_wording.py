"""Disabled endpoints' reasons in the new wording, which the pages show after "Disabled: " as they are."""

from django.db import migrations

REWORDED = {"Disabled by a person": "turned off by an owner or admin", "Failing for 5 days": "failing for 5 days"}


def reword(apps, schema_editor):
    endpoints = apps.get_model("notifications", "WebhookEndpoint")
    for old, new in REWORDED.items():
        endpoints.objects.filter(disabled_reason=old).update(disabled_reason=new)


def unreword(apps, schema_editor):
    endpoints = apps.get_model("notifications", "WebhookEndpoint")
    for old, new in REWORDED.items():
        endpoints.objects.filter(disabled_reason=new).update(disabled_reason=old)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_delivery_claim_token"),
    ]

    operations = [migrations.RunPython(reword, unreword)]
