"""The mailbox's and the demo receiver's JSON listings: what scripts and the end-to-end journey read."""

import json
import smtplib
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

from devstack import mailbox, webhook_receiver
from notifications import signing
from tests.notifications.smtp import free_port


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def test_the_mailbox_lists_a_message_received_over_smtp_as_json_with_a_link_to_it_as_sent(tmp_path):
    controller, server = mailbox.start(smtp_port=free_port(), port=free_port(), directory=tmp_path / "mail")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get_json(f"{base}/messages.json") == []
        message = EmailMessage()
        message["Subject"], message["From"] = "gallery.client-domain.com is live", "portal@ve.ai"
        message["To"] = "Alice <alice@acme.example>"
        message.set_content("Visitors reach your site.")
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=5) as smtp:
            smtp.send_message(message)

        (listed,) = get_json(f"{base}/messages.json")
        assert listed["subject"] == "gallery.client-domain.com is live"
        assert listed["to"] == ["alice@acme.example"]
        assert listed["from"] == "portal@ve.ai"
        with urllib.request.urlopen(base + listed["raw"], timeout=5) as raw:
            assert raw.headers["Content-Type"] == "message/rfc822"
            assert b"Visitors reach your site." in raw.read()
        assert b"Visitors reach your site." in urllib.request.urlopen(base + listed["page"], timeout=5).read()
    finally:
        server.shutdown()
        server.server_close()
        controller.stop()


def test_the_mailbox_answers_404_for_a_raw_message_it_does_not_hold(tmp_path):
    controller, server = mailbox.start(smtp_port=free_port(), port=free_port(), directory=tmp_path / "mail")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/raw/../../etc/passwd"
        try:
            urllib.request.urlopen(url, timeout=5)
            raise AssertionError("a message the mailbox does not hold was served")
        except urllib.error.HTTPError as missing:
            assert missing.code == 404
    finally:
        server.shutdown()
        server.server_close()
        controller.stop()


def test_the_receiver_lists_a_signed_delivery_as_verified_and_a_tampered_one_as_not(tmp_path):
    secret = signing.secret_generate()
    server, _ = webhook_receiver.serve(port=free_port(), secrets=lambda: [secret])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    signed = json.dumps({"type": "domain.active", "data": {"hostname": "gallery.client-domain.com"}}).encode()
    try:
        headers = signing.headers(secret=secret, message_id="msg_signed", timestamp=int(time.time()), body=signed)
        urllib.request.urlopen(urllib.request.Request(f"{base}/hooks", data=signed, headers=headers), timeout=5)
        # The same signature over a body changed on the way: the receiver refuses it and lists it unverified.
        tampered = signed.replace(b"gallery.", b"evil.")
        headers = signing.headers(secret=secret, message_id="msg_tampered", timestamp=int(time.time()), body=signed)
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/hooks", data=tampered, headers=headers), timeout=5)
            raise AssertionError("a tampered delivery was accepted")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401

        listed = get_json(f"{base}/received.json")
        assert [(r["id"], r["type"], r["hostname"], r["verified"]) for r in listed] == [
            ("msg_tampered", "domain.active", "evil.client-domain.com", False),
            ("msg_signed", "domain.active", "gallery.client-domain.com", True),
        ]
        assert listed[1]["payload"] == json.loads(signed)
        assert "✓ verified" in urllib.request.urlopen(f"{base}/", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
