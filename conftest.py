"""Root conftest: registers the fixture modules that start real services on loopback.

Each module under tests/fixtures/ owns one outside system (DNS server, DynamoDB
endpoint, Redis, ...). Add a module here when you add one.
"""

pytest_plugins = [
    "tests.fixtures.dynamodb",
    "tests.fixtures.dns",
    "tests.fixtures.redis",
    "tests.fixtures.celery_worker",
    "tests.fixtures.pebble",
    "tests.fixtures.cloudfront",
]
