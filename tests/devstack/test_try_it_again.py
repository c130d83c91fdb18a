"""`make run` prints its "try it" block again, with the time it took, once /healthz is green."""

import http.server
import threading
import time

from devstack.__main__ import announce_when_up


def test_the_block_comes_again_once_healthz_turns_green(capsys):
    answers = iter([503, 503, 200])

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(next(answers, 200))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic() - 42
        url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
        assert announce_when_up(url, "TRY IT BLOCK", started=started, timeout=10, step=0.05)
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert "Everything is up: /healthz is green after 42 s. Try it:" in out and out.rstrip().endswith("TRY IT BLOCK")


def test_it_gives_up_quietly_when_the_stack_never_comes_up(capsys):
    assert not announce_when_up("http://127.0.0.1:9/healthz", "X", started=time.monotonic(), timeout=0.2, step=0.05)
    assert capsys.readouterr().out == ""


def test_the_readme_and_the_block_name_the_waiting_times_the_stack_has(settings):
    from pathlib import Path

    from devstack.__main__ import TRY_IT
    from domains.views import POLL_INTERVAL_MS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"it asks every {POLL_INTERVAL_MS // 1000} s" in readme
    assert f"beat dispatches due checks every {settings.DOMAIN_CHECK_DISPATCH_PERIOD:.0f} s" in readme
    assert "Active within about 10 s" in readme and "Active within about 10 s" in TRY_IT
