"""`make run` prints its "try it" block again, with the time it took, once /healthz is green and its
details (read with the stack's token) show beat ticking and a worker finishing tasks."""

import http.server
import json
import threading
import time
from contextlib import contextmanager

import pytest

from devstack.__main__ import announce_when_up
from devstack.stack import not_up_yet

TOKEN = "dev-token"
UP = {"beat": {"ok": True, "fresh": True}, "worker": {"ok": True, "fresh": True}}
WORKER_NOT_YET = {"beat": {"ok": True, "fresh": True}, "worker": {"ok": True, "last_task": None, "fresh": False}}


@contextmanager
def fake_healthz(*answers: tuple[int, dict]):
    """A /healthz answering each of `answers` (status, checks) in turn, then the last one for ever;
    the details only to the right token, as the portal does."""
    remaining = list(answers)
    asked = []

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, checks = remaining.pop(0) if len(remaining) > 1 else remaining[0]
            asked.append(checks)
            body = {"ok": status == 200}
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                body["checks"] = checks
            self.send_response(status)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_block_comes_again_once_healthz_turns_green_with_beat_and_a_worker(capsys):
    with fake_healthz((503, {}), (503, {}), (200, UP)) as (url, asked):
        started = time.monotonic() - 42
        assert announce_when_up(url, "TRY IT BLOCK", token=TOKEN, started=started, timeout=10, step=0.05)
    assert len(asked) == 3
    out = capsys.readouterr().out
    assert "Everything is up: /healthz is green, beat ticks and a worker runs tasks after 42 s. Try it:" in out
    assert out.rstrip().endswith("TRY IT BLOCK")


def test_it_waits_while_no_worker_has_finished_a_task_and_announces_once_one_has(capsys):
    with fake_healthz((200, WORKER_NOT_YET), (200, WORKER_NOT_YET), (200, WORKER_NOT_YET), (200, UP)) as (url, asked):
        assert announce_when_up(url, "TRY IT BLOCK", token=TOKEN, started=time.monotonic(), timeout=10, step=0.05)
    assert len(asked) == 4 and capsys.readouterr().out.count("Everything is up") == 1


def test_a_green_healthz_with_a_silent_worker_is_not_up(capsys):
    with fake_healthz((200, WORKER_NOT_YET)) as (url, _):
        assert not announce_when_up(url, "X", token=TOKEN, started=time.monotonic(), timeout=0.3, step=0.05)
        assert not_up_yet(url, TOKEN) == "waiting for a worker to finish a task"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "checks, waiting",
    [
        ({"beat": {"fresh": False}, "worker": {"fresh": True}}, "waiting for beat to tick"),
        ({"beat": {"fresh": False}}, "waiting for beat to tick and a worker to finish a task"),
        (UP, ""),
    ],
)
def test_it_says_what_it_still_waits_for(checks, waiting):
    with fake_healthz((200, checks)) as (url, _):
        assert not_up_yet(url, TOKEN) == waiting


def test_without_the_stacks_token_it_never_announces(capsys):
    with fake_healthz((200, UP)) as (url, _):
        assert not announce_when_up(url, "X", token="wrong", started=time.monotonic(), timeout=0.3, step=0.05)
        assert "HEALTHZ_TOKEN" in not_up_yet(url, "wrong")
    assert capsys.readouterr().out == ""


def test_it_gives_up_quietly_when_the_stack_never_comes_up(capsys):
    assert not announce_when_up(
        "http://127.0.0.1:9/healthz", "X", token=TOKEN, started=time.monotonic(), timeout=0.2, step=0.05
    )
    assert capsys.readouterr().out == ""


def test_the_stack_gives_its_processes_a_healthz_token_it_never_shows():
    from pathlib import Path

    from devstack.stack import Ports, Stack

    stack = Stack(ports=Ports(), var_dir=Path("/nonexistent"))
    token = stack.environment()["HEALTHZ_TOKEN"]
    assert len(token) >= 20 and stack.environment()["HEALTHZ_TOKEN"] == token
    assert token not in repr(stack)


def test_the_readme_and_the_block_name_the_waiting_times_the_stack_has(settings):
    from pathlib import Path

    from devstack.__main__ import TRY_IT
    from domains.views import POLL_INTERVAL_MS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"it asks every {POLL_INTERVAL_MS // 1000} s" in readme
    assert f"beat dispatches due checks every {settings.DOMAIN_CHECK_DISPATCH_PERIOD:.0f} s" in readme
    assert '"Setting up HTTPS" within about 10 s' in readme and '"Setting up HTTPS" within about 10 s' in TRY_IT
