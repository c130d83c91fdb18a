import json
import os
import subprocess
import sys
import zipfile

import pytest

from edge_function.build import BuildError, build
from tests.edge_function.conftest import origin_request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_it_builds_a_zip_holding_only_the_package_and_its_config(tmp_path):
    out = tmp_path / "dist" / "edge_function.zip"

    result = subprocess.run(
        [sys.executable, "-m", "edge_function.build", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    names = zipfile.ZipFile(out).namelist()
    assert "edge_function/handler.py" in names
    assert "edge_function/config.json" in names
    assert all(name.startswith("edge_function/") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", "build.py"))]
    assert os.path.getsize(out) < 1024 * 1024
    assert "bytes" in result.stdout


def test_it_bakes_the_given_config_into_the_zip(tmp_path):
    config = tmp_path / "prod.json"
    config.write_text(
        json.dumps(
            {
                "table_name": "ve-domains-prod",
                "replica_regions": ["eu-west-1", "us-east-1"],
            }
        )
    )

    build(str(tmp_path / "f.zip"), str(config))

    baked = json.loads(zipfile.ZipFile(tmp_path / "f.zip").read("edge_function/config.json"))
    assert baked["table_name"] == "ve-domains-prod"


def test_it_refuses_a_config_with_an_unknown_key(tmp_path):
    config = tmp_path / "typo.json"
    config.write_text(json.dumps({"positive_ttl": 60}))

    with pytest.raises(BuildError, match="unknown config keys"):
        build(str(tmp_path / "f.zip"), str(config))


def test_it_fails_when_the_zip_would_exceed_the_size_limit(tmp_path):
    out = tmp_path / "f.zip"

    with pytest.raises(BuildError, match="over the 1000-byte limit"):
        build(str(out), max_bytes=1000)
    assert not out.exists()


def test_the_zip_runs_with_only_the_standard_library_and_boto3(tmp_path):
    out = tmp_path / "edge_function.zip"
    build(str(out))
    event = origin_request("app.ve.ai")  # a platform host: answered without DynamoDB
    probe = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "from edge_function.handler import lambda_handler;"
        "request = lambda_handler(json.loads(sys.argv[2]), None);"
        "assert request['headers']['host'] == [{'key': 'Host', 'value': 'app.ve.ai'}], request;"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )

    # -S: no site-packages at all, so Django (or anything else) cannot be imported.
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(out), json.dumps(event)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )

    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert "django" not in modules
    assert "boto3" not in modules  # not even boto3 until the first cache miss
