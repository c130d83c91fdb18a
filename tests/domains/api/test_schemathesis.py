"""Schemathesis against the live OpenAPI document, in-process through the WSGI app.

Every operation, a bounded number of generated requests each, authenticated as
alice with her owner key: no 5xx, and every response (status, content type,
headers, body) matches what the schema documents.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from tests.factories import DomainFactory


def _wsgi_app():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


# Loaded at collection (pytest-django has set Django up by then); serving the
# schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", _wsgi_app())

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def generous_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min", "api_writes": "100000/min"},
    }


@pytest.fixture
def a_domain(acme):
    return DomainFactory(workspace=acme, hostname="gallery.client-domain.com")


@pytest.fixture
def connections_kept_open():
    """As Django's test client does: the test's transaction must outlive each WSGI request.

    Without this, the end of a request closes a PostgreSQL connection that is
    inside the test's transaction.
    """
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.postgres
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_matches_its_schema(case, alice_key, a_domain, generous_throttles, connections_kept_open):
    case.call_and_validate(headers={"Authorization": f"Bearer {alice_key}"}, checks=CHECKS)
