# CloudFront distribution tenants (HTTPS) and the provisioning status, which holds its hostname.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0003_edge_shards"),
    ]

    operations = [
        migrations.CreateModel(
            name="CdnTenant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("hostname", models.CharField(db_index=True, max_length=253)),
                ("workspace_public_id", models.CharField(max_length=32)),
                ("name", models.CharField(help_text="The tenant's Name at CloudFront.", max_length=128, unique=True)),
                (
                    "generation",
                    models.PositiveIntegerField(default=1, help_text="Bumped when a deleted tenant must be made anew."),
                ),
                (
                    "tenant_id",
                    models.CharField(
                        blank=True, db_index=True, help_text="CloudFront's id, once known.", max_length=64
                    ),
                ),
                (
                    "goal",
                    models.CharField(
                        choices=[("enabled", "Enabled"), ("disabled", "Disabled"), ("deleted", "Deleted")],
                        default="enabled",
                        max_length=8,
                    ),
                ),
                ("revision", models.PositiveIntegerField(default=1)),
                (
                    "request_certificate",
                    models.BooleanField(default=False, help_text="A new certificate must be requested."),
                ),
                ("invalidate", models.BooleanField(default=False, help_text="Its cached objects must be invalidated.")),
                (
                    "provisioning_since",
                    models.DateTimeField(blank=True, help_text="Start of the current wait for HTTPS.", null=True),
                ),
                ("enabled", models.BooleanField(blank=True, null=True)),
                (
                    "certificate_status",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("pending-validation", "Pending validation"),
                            ("issued", "Issued"),
                            ("inactive", "Inactive"),
                            ("expired", "Expired"),
                            ("validation-timed-out", "Validation timed out"),
                            ("revoked", "Revoked"),
                            ("failed", "Failed"),
                        ],
                        max_length=24,
                    ),
                ),
                ("certificate_arn", models.CharField(blank=True, max_length=2048)),
                ("certificate_attached", models.BooleanField(default=False)),
                ("certificate_issued_at", models.DateTimeField(blank=True, null=True)),
                ("problem", models.CharField(blank=True, help_text="Why HTTPS stopped, for people.", max_length=500)),
                (
                    "deleted_at",
                    models.DateTimeField(blank=True, help_text="The tenant is gone from CloudFront.", null=True),
                ),
                ("synced_at", models.DateTimeField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                ("claimed_until", models.DateTimeField(blank=True, null=True)),
                (
                    "polls",
                    models.PositiveIntegerField(default=0, help_text="Certificate polls since it was requested."),
                ),
                ("attempts", models.PositiveIntegerField(default=0, help_text="Failed calls in a row.")),
                ("last_error", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "CloudFront tenant",
                "ordering": ["hostname", "id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="domain",
            name="domain_one_holder_per_hostname",
        ),
        migrations.AlterField(
            model_name="domain",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("provisioning", "Setting up HTTPS"),
                    ("active", "Active"),
                    ("misconfigured", "Misconfigured"),
                    ("failed", "Failed"),
                    ("suspended", "Suspended"),
                ],
                db_index=True,
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="domain",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["active", "misconfigured", "provisioning", "suspended"])),
                fields=("hostname",),
                name="domain_one_holder_per_hostname",
            ),
        ),
        migrations.AddField(
            model_name="cdntenant",
            name="domain",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="cdn_tenant",
                to="domains.domain",
            ),
        ),
    ]
