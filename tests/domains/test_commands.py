"""manage.py check_domain against the loopback DNS server."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from domains.models import Domain, DomainCheck, DomainStatus
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"
BASE_DIR = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_domain", *args, stdout=out)
    return exited.value.code, out.getvalue()


def test_a_domain_whose_record_is_in_place_exits_0_and_becomes_active(devdns, acme):
    domain = DomainFactory(workspace=acme, hostname=HOST)
    devdns.add(HOST, "CNAME", domain.target)

    code, out = run(HOST)

    assert code == 0
    assert f"{HOST}: verified" in out
    assert "pending → active" in out
    assert Domain.objects.get(pk=domain.pk).status == DomainStatus.ACTIVE
    assert DomainCheck.objects.get(domain=domain).manual


def test_a_record_pointing_elsewhere_exits_1_and_says_where_it_must_point(devdns, acme):
    domain = DomainFactory(workspace=acme, hostname=HOST)
    devdns.add(HOST, "CNAME", "acme.pixieset.com")
    devdns.add("acme.pixieset.com", "A", "192.0.2.7")

    code, out = run(HOST)

    assert code == 1
    assert domain.target in out


def test_a_hostname_several_workspaces_claim_checks_the_one_holding_it(devdns, acme, charlie_studio):
    holder = DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
    DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.FAILED)
    devdns.add(HOST, "CNAME", holder.target)

    code, out = run(HOST)

    assert code == 0
    assert DomainCheck.objects.get().domain == holder


def test_a_servfail_exits_2(devdns, acme):
    DomainFactory(workspace=acme, hostname=HOST)
    devdns.fault(HOST, servfail=True)

    code, _ = run(HOST)

    assert code == 2


def test_json_output_carries_the_outcome_expected_and_found(devdns, acme):
    domain = DomainFactory(workspace=acme, hostname=HOST)
    devdns.add(HOST, "CNAME", domain.target)

    code, out = run(HOST, "--json")

    report = json.loads(out)
    assert code == 0
    assert (report["outcome"], report["status"]) == ("verified", "active")
    assert report["found"][0]["records"] == [domain.target]


def test_with_a_target_any_hostname_is_checked_without_a_database_row(devdns, db):
    devdns.add("shop.client-domain.com", "CNAME", "support-test.domain.ve.ai")

    code, out = run("https://Shop.Client-Domain.com/path", "--target", "support-test.domain.ve.ai", "--json")

    assert code == 0
    assert json.loads(out)["hostname"] == "shop.client-domain.com"
    assert not Domain.objects.exists() and not DomainCheck.objects.exists()


def test_an_unknown_hostname_without_a_target_is_refused_with_a_hint(devdns, db):
    with pytest.raises(CommandError, match="--target") as refused:
        call_command("check_domain", HOST)
    assert refused.value.returncode == 3


def test_an_invalid_hostname_is_refused_with_the_reason(db):
    with pytest.raises(CommandError, match="port") as refused:
        call_command("check_domain", "gallery.client-domain.com:8080")
    assert refused.value.returncode == 3


def test_bad_input_on_the_command_line_exits_3_without_a_traceback():
    finished = subprocess.run(
        [sys.executable, "manage.py", "check_domain", "localhost", "--target", "x.domain.ve.ai"],
        check=False,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 3
    assert "Traceback" not in finished.stderr
    assert "localhost" in finished.stderr or "single word" in finished.stderr
