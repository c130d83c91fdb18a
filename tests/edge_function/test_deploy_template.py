import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "deploy", "edge.yaml")
CFN_LINT = os.path.join(os.path.dirname(sys.executable), "cfn-lint")


def test_the_deployment_template_passes_cfn_lint():
    if not os.path.exists(CFN_LINT):
        pytest.fail("cfn-lint is not installed next to this Python (requirements-dev.txt)")

    result = subprocess.run([CFN_LINT, TEMPLATE], capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_template_wires_the_function_to_origin_requests_with_host_in_the_cache_key():
    with open(TEMPLATE, encoding="utf-8") as fh:
        text = fh.read()

    assert "AWS::DynamoDB::GlobalTable" in text
    assert "edgelambda.amazonaws.com" in text
    assert "EventType: origin-request" in text
    assert "- Host" in text
    assert "HeaderName: x-origin-secret" in text
    assert "Handler: edge_function.handler.lambda_handler" in text
