"""The tenant web UI's URLs."""

from django.urls import path

from domains import views

app_name = "domains"
urlpatterns = [
    path("", views.domain_list, name="list"),
    path("domains/add/", views.domain_add, name="add"),
    path("domains/<uuid:domain_id>/", views.domain_detail, name="detail"),
    path("domains/<uuid:domain_id>/status/", views.domain_status, name="status"),
    path("domains/<uuid:domain_id>/check/", views.domain_check_now, name="check"),
    path("domains/<uuid:domain_id>/retry/", views.domain_retry, name="retry"),
    path("domains/<uuid:domain_id>/delete/", views.domain_delete, name="delete"),
]
