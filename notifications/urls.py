from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("email/", views.email_settings, name="email_settings"),
    path("webhooks/", views.webhooks_page, name="webhooks"),
    path("webhooks/<uuid:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
]
