"""The OpenAPI document and the docs page: every endpoint and its errors, assets served locally."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/domains/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/domains/", "post"): {"201", "400", "401", "403", "404", "409", "413", "422", "429"},
    ("/api/v1/domains/{id}/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/domains/{id}/", "delete"): {"204", "400", "401", "403", "404", "429"},
    ("/api/v1/domains/{id}/check/", "post"): {"202", "400", "401", "403", "404", "409", "429"},
    ("/api/v1/domains/{id}/retry/", "post"): {"200", "400", "401", "403", "404", "409", "429"},
    ("/api/v1/domains/{id}/events/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/domains/{id}/checks/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/domains/{id}/notification-events/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/", "post"): {"201", "400", "401", "403", "404", "413", "429"},
    ("/api/v1/webhooks/{id}/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/{id}/", "patch"): {"200", "400", "401", "403", "404", "413", "429"},
    ("/api/v1/webhooks/{id}/", "delete"): {"204", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/{id}/test/", "post"): {"202", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/{id}/deliveries/", "get"): {"200", "400", "401", "403", "404", "429"},
    ("/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/", "post"): {"202", "400", "401", "403", "404", "429"},
}


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_every_endpoint_and_its_error_responses_are_documented(schema):
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert documented == set(OPERATIONS)
    for (path, method), statuses in OPERATIONS.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, (path, method)
        for status in statuses - {"200", "201", "202", "204"}:
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_check_now_is_documented_as_queued_with_the_domain_in_the_answer(schema):
    operation = schema["paths"]["/api/v1/domains/{id}/check/"]["post"]
    accepted = operation["responses"]["202"]
    assert accepted["content"]["application/json"]["schema"]["$ref"].endswith("/DomainDetail")
    assert "queued" in operation["summary"] and "last_check" in operation["description"]


def test_the_api_key_and_session_are_the_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert "cookieAuth" in schemes


def test_the_docs_page_serves_swagger_ui_from_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page


def test_every_429_documents_its_retry_after_header(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "Retry-After" in operation["responses"]["429"].get("headers", {}), f"{method} {path}"
