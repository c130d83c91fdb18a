"""make run's mailbox keeps what the portal sends and shows it; the demo receiver verifies what the portal signs."""

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


def test_a_mail_sent_to_the_local_mailbox_is_kept_under_var_and_readable_on_its_page(tmp_path):
    controller, server = mailbox.start(smtp_port=free_port(), port=free_port(), directory=tmp_path / "mail")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = "gallery.client-domain.com is live", "a@b.c", "alice@x.y"
        message.set_content("Visitors reach your site.")
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=5) as smtp:
            smtp.send_message(message)

        (kept,) = (tmp_path / "mail").glob("*.eml")
        index = urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=5).read().decode()
        assert "gallery.client-domain.com is live" in index
        shown = urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/{kept.name}", timeout=5).read()
        assert b"Visitors reach your site." in shown
    finally:
        server.shutdown()
        server.server_close()
        controller.stop()


def test_the_demo_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one():
    secret = signing.secret_generate()
    server, received = webhook_receiver.serve(port=free_port(), secrets=lambda: [secret])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    body = json.dumps({"type": "domain.active", "data": {}}).encode()
    try:
        headers = signing.headers(secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body)
        ok = urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=5)
        assert ok.status == 200
        forged = signing.headers(
            secret=signing.secret_generate(), message_id="msg_2", timestamp=int(time.time()), body=body
        )
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=body, headers=forged), timeout=5)
            raise AssertionError("a forged delivery was accepted")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
        assert [(r["type"], r["verified"]) for r in received] == [("domain.active", False), ("domain.active", True)]
        page = urllib.request.urlopen(url.removesuffix("hooks"), timeout=5).read().decode()
        assert "✓ verified" in page and "NOT verified" in page
    finally:
        server.shutdown()
        server.server_close()
