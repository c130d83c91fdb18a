"""Our webhook signatures verify with the Standard Webhooks reference library, and ours refuses what it refuses."""

import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications import signing

BODY = json.dumps({"type": "domain.active", "timestamp": "2026-11-30T05:00:00+00:00", "data": {"id": "x"}}).encode()


def test_a_new_secret_is_whsec_and_base64_of_24_random_bytes():
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(signing._key(first)) == 24


def test_the_standardwebhooks_library_verifies_our_signed_headers():
    secret = signing.secret_generate()
    now = int(time.time())
    headers = signing.headers(secret=secret, message_id="msg_2b7f", timestamp=now, body=BODY)

    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert signing.verify(secret=secret, headers=headers, body=BODY, now=now)


def test_a_changed_body_or_another_secret_is_refused_by_both():
    secret = signing.secret_generate()
    now = int(time.time())
    headers = signing.headers(secret=secret, message_id="msg_2b7f", timestamp=now, body=BODY)
    tampered = BODY.replace(b"active", b"failed")

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(BODY, headers)
    assert not signing.verify(secret=secret, headers=headers, body=tampered, now=now)


def test_we_verify_what_the_library_signs_and_refuse_stale_timestamps():
    secret = signing.secret_generate()
    now = int(time.time())
    theirs = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, tz=UTC), BODY.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": theirs}
    assert signing.verify(secret=secret, headers=headers, body=BODY, now=now)
    assert not signing.verify(secret=secret, headers=headers, body=BODY, now=now + 301)
