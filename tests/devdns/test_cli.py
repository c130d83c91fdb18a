"""python -m devdns: publish records and faults on the loopback DNS server from a shell."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dns.flags
import dns.rcode
import pytest

from devdns.cli import main
from devdns.store import Store
from tests.devdns.test_server import ask, texts

ROOT = Path(__file__).resolve().parents[2]


def run_devdns(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, in a shell whose environment has no DEVDNS_STATE unless given."""
    environment = {k: v for k, v in os.environ.items() if k != "DEVDNS_STATE"}
    environment.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "devdns", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_publishes_a_record_that_the_running_server_answers_at_once(dns_server):
    done = dns_server.cli("add", "Gallery.Client.com", "cname", "K3X9.domain.ve.ai")

    assert (done.returncode, done.stdout) == (0, "added gallery.client.com 60 CNAME k3x9.domain.ve.ai.\n")
    assert texts(ask(dns_server, "gallery.client.com", "CNAME").answer) == ["k3x9.domain.ve.ai."]


def test_it_publishes_several_txt_values_as_one_multi_string_record_with_its_ttl(dns_server):
    done = dns_server.cli("add", "_ve-verify.client.com", "TXT", "k3x9", "abc", "--ttl", "30")

    assert done.returncode == 0
    [rrset] = ask(dns_server, "_ve-verify.client.com", "TXT").answer
    assert [rdata.strings for rdata in rrset] == [(b"k3x9", b"abc")]
    assert rrset.ttl == 30


def test_it_removes_only_the_record_named_and_exits_1_when_nothing_matches(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")
    dns_server.add("gallery.client.com", "A", "203.0.113.8")

    first = dns_server.cli("remove", "gallery.client.com", "A", "203.0.113.7")
    again = dns_server.cli("remove", "gallery.client.com", "A", "203.0.113.7")

    assert (first.returncode, first.stdout) == (0, "removed 1 record\n")
    assert (again.returncode, again.stdout) == (1, "removed 0 records\n")
    assert texts(ask(dns_server, "gallery.client.com", "A").answer) == ["203.0.113.8"]


def test_a_fault_it_sets_makes_the_server_fail_for_that_name_until_cleared(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    assert dns_server.cli("fault", "gallery.client.com", "--servfail").returncode == 0
    assert ask(dns_server, "gallery.client.com", "A").rcode() == dns.rcode.SERVFAIL

    cleared = dns_server.cli("fault", "gallery.client.com", "--clear")
    assert (cleared.returncode, cleared.stdout) == (0, "fault for gallery.client.com: cleared\n")
    assert texts(ask(dns_server, "gallery.client.com", "A").answer) == ["203.0.113.7"]


def test_a_referral_it_sets_is_served_instead_of_the_record(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    done = dns_server.cli("fault", "gallery.client.com", "--refer", "COM.", "--refer-glue", "192.0.2.53")

    assert done.returncode == 0, done.stderr
    response = ask(dns_server, "gallery.client.com", "A")
    assert response.answer == [] and texts(response.authority) == ["ns1.com."]
    assert texts(response.additional) == ["192.0.2.53"]
    assert dns_server.store.load().faults["gallery.client.com"].refer == "com"


def test_a_hangup_it_sets_closes_tcp_connections_unanswered(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    assert dns_server.cli("fault", "gallery.client.com", "--hangup").returncode == 0

    assert ask(dns_server, "gallery.client.com", "A").flags & dns.flags.TC
    with pytest.raises(EOFError):
        ask(dns_server, "gallery.client.com", "A", tcp=True)


def test_a_latency_it_sets_delays_every_answer_and_clear_forgets_everything(dns_server):
    dns_server.add("gallery.client.com", "A", "203.0.113.7")

    assert dns_server.cli("latency", "300").returncode == 0
    started = time.monotonic()
    ask(dns_server, "gallery.client.com", "A", timeout=5)
    assert time.monotonic() - started >= 0.3

    assert dns_server.cli("clear").returncode == 0
    assert ask(dns_server, "gallery.client.com", "A").answer == []
    assert dns_server.store.load().latency_ms == 0


def test_it_lists_the_records_faults_and_latency_as_text_and_as_json(dns_server):
    dns_server.add("www.client.com", "A", "192.0.2.1")
    dns_server.add("gallery.client.com", "CNAME", "k3x9.domain.ve.ai")
    dns_server.fault("gallery.client.com", timeout=True, latency_ms=20)
    dns_server.latency(5)

    text = dns_server.cli("list")
    as_json = dns_server.cli("list", "--json")

    assert text.stdout.splitlines() == [
        "gallery.client.com 60 CNAME k3x9.domain.ve.ai.",
        "www.client.com 60 A 192.0.2.1",
        "fault gallery.client.com: latency_ms=20, timeout=True",
        "latency 5 ms on every answer",
    ]
    assert json.loads(as_json.stdout) == dns_server.store.load().to_json()


def test_it_writes_the_state_file_named_by_devdns_state(tmp_path):
    state = tmp_path / "elsewhere" / "devdns.json"

    done = run_devdns("add", "gallery.client.com", "A", "203.0.113.7", DEVDNS_STATE=str(state))

    assert done.returncode == 0, done.stderr
    assert [r.value for r in Store(state).records()] == ["203.0.113.7"]


def test_without_devdns_state_it_writes_var_devdns_json_under_the_working_directory(tmp_path):
    done = run_devdns("add", "gallery.client.com", "A", "203.0.113.7", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert [r.value for r in Store(tmp_path / "var" / "devdns.json").records()] == ["203.0.113.7"]


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["add", "gallery.client.com", "A", "1.2.3"], "invalid A value '1.2.3'"),
        (["add", "gallery.client.com", "MX", "10 mx.client.com"], "invalid choice: 'MX'"),
        (["add", "gallery.client.com", "CNAME", "a.example.com", "b.example.com"], "exactly one value"),
        (["add", "bad name!.client.com", "A", "192.0.2.1"], "invalid DNS name"),
        (["add", "gallery.client.com", "A", "192.0.2.1", "--ttl", "-5"], "-5 is negative"),
        (["remove", "gallery.client.com", "A", "192.0.2.1", "192.0.2.2"], "exactly one value"),
        (["fault", "gallery.client.com", "--latency", "soon"], "'soon' is not a whole number"),
        (["fault", "gallery.client.com", "--refer", "com", "--refer-glue", "nowhere"], "invalid glue address"),
        (["fault", "gallery.client.com", "--refer-ns", "ns1.evil.net"], "needs the zone it refers to"),
        (["latency", "-1"], "-1 is negative"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_input_exits_2_with_the_reason_and_writes_nothing(tmp_path, capsys, argv, reason):
    state = tmp_path / "devdns.json"

    with pytest.raises(SystemExit) as exited:
        main(["--state", str(state), *argv])

    assert exited.value.code == 2
    assert reason in capsys.readouterr().err
    assert not state.exists()


def test_a_broken_state_file_is_reported_without_a_traceback_and_left_as_it_was(tmp_path):
    state = tmp_path / "devdns.json"
    state.write_text('{"records": [')

    done = run_devdns("--state", str(state), "add", "gallery.client.com", "A", "203.0.113.7")

    assert done.returncode == 1
    assert f"cannot read the state file {state}" in done.stderr
    assert "Traceback" not in done.stderr
    assert state.read_text() == '{"records": ['


def test_the_portal_neither_offers_a_devdns_command_nor_imports_devdns():
    command = subprocess.run(
        [sys.executable, "manage.py", "devdns", "list"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup();"
            "from django.core.management import get_commands, load_command_class;"
            "[load_command_class(app, name) for name, app in get_commands().items()];"
            "import portal.urls, portal.wsgi; from portal.celery import app; app.loader.import_default_modules();"
            "print(sorted(m for m in sys.modules if m == 'devdns' or m.startswith('devdns.')))",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert command.returncode != 0 and "Unknown command: 'devdns'" in command.stderr
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
