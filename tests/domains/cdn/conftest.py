"""CloudFront for the portal's tests: settings that turn the step on, botocore's Stubber, and a fake CloudFront.

Both sit behind the real boto3 client: botocore checks every request we send
against its service model (cloudfront 2020-05-31) before it would go on the
wire, and the Stubber and the fake check every answer against it too.
"""

import pytest

from domains.cdn import client
from tests.domains.cdn.fake import FakeCloudFront

DISTRIBUTION_ID = "E1MULTITENANT"
CONNECTION_GROUP_ID = "cg_2wjDWTBKTlRB87cAaUQFaakCpH"


@pytest.fixture
def cloudfront_settings(settings):
    """The CloudFront step on, pointed at a closed loopback port: nothing reaches AWS, whatever happens."""
    settings.CLOUDFRONT_ENABLED = True
    settings.CLOUDFRONT_DISTRIBUTION_ID = DISTRIBUTION_ID
    settings.CLOUDFRONT_CONNECTION_GROUP_ID = CONNECTION_GROUP_ID
    settings.CLOUDFRONT_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.CLOUDFRONT_CONNECT_TIMEOUT = 0.2
    settings.CLOUDFRONT_READ_TIMEOUT = 0.5
    settings.CLOUDFRONT_MAX_ATTEMPTS = 1
    client.reset_client()
    yield settings
    client.reset_client()


@pytest.fixture
def cloudfront(cloudfront_settings):
    """A fake CloudFront answering the real client's calls, with faults to inject."""
    fake = FakeCloudFront(client.get_client())
    fake.activate()
    yield fake
    fake.deactivate()
