"""deploy/edge.yaml: valid CloudFormation, and wired to the function, table and origin this repository ships."""

import importlib
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
import yaml

from edge_function.build import build
from edgelocal._http import SECRET_HEADER
from tests.edge_function.conftest import header, origin_request
from tests.fixtures.dynamodb import dynamodb_client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "deploy", "edge.yaml")
BUNDLED_CONFIG = os.path.join(ROOT, "edge_function", "config.json")
CFN_LINT = os.path.join(os.path.dirname(sys.executable), "cfn-lint")


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as their long form: !Ref x -> {"Ref": "x"}."""


def _intrinsic(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref": value} if tag == "Ref" else {f"Fn::{tag}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    with open(TEMPLATE, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CloudFormationLoader)  # a SafeLoader: no arbitrary objects


@pytest.fixture(scope="module")
def bundled_config() -> dict:
    with open(BUNDLED_CONFIG, encoding="utf-8") as fh:
        return json.load(fh)


def resource(template: dict, name: str, kind: str) -> dict:
    assert template["Resources"][name]["Type"] == kind
    return template["Resources"][name]["Properties"]


def test_the_deployment_template_passes_cfn_lint():
    if not os.path.exists(CFN_LINT):
        pytest.fail("cfn-lint is not installed next to this Python (requirements-dev.txt)")

    result = subprocess.run([CFN_LINT, TEMPLATE], capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_function_runs_the_handler_that_the_built_zip_ships(template, tmp_path):
    function = resource(template, "EdgeFunction", "AWS::Lambda::Function")
    module, _, attribute = function["Handler"].rpartition(".")
    build(str(tmp_path / "edge_function.zip"))

    assert module.replace(".", "/") + ".py" in zipfile.ZipFile(tmp_path / "edge_function.zip").namelist()
    assert callable(getattr(importlib.import_module(module), attribute))
    assert function["Runtime"].startswith("python3.")
    # Lambda@Edge refuses functions with environment variables: the settings travel in the zip.
    assert "Environment" not in function


def test_cloudfront_runs_a_published_version_on_origin_requests_of_the_default_behaviour(template):
    distribution = resource(template, "Distribution", "AWS::CloudFront::Distribution")["DistributionConfig"]
    version = resource(template, "EdgeFunctionVersion", "AWS::Lambda::Version")

    [association] = distribution["DefaultCacheBehavior"]["LambdaFunctionAssociations"]

    # The handler rewrites Host for the origin, which CloudFront allows on origin requests only,
    # and Lambda@Edge takes a numbered version, never $LATEST.
    assert association["EventType"] == "origin-request"
    assert association["LambdaFunctionARN"] == {"Ref": "EdgeFunctionVersion"}
    assert version["FunctionName"] == {"Ref": "EdgeFunction"}
    role = resource(template, "EdgeFunctionRole", "AWS::IAM::Role")
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert set(trust["Principal"]["Service"]) == {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}


def test_the_cache_key_holds_the_host_so_tenants_never_share_a_cached_page(template):
    distribution = resource(template, "Distribution", "AWS::CloudFront::Distribution")["DistributionConfig"]
    policy = resource(template, "HostAwareCachePolicy", "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]

    headers = policy["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]

    assert distribution["DefaultCacheBehavior"]["CachePolicyId"] == {"Ref": "HostAwareCachePolicy"}
    assert headers["HeaderBehavior"] == "whitelist"
    assert "host" in {name.lower() for name in headers["Headers"]}


def test_the_origin_gets_the_secret_header_the_demo_origin_checks_from_a_hidden_parameter(template):
    distribution = resource(template, "Distribution", "AWS::CloudFront::Distribution")["DistributionConfig"]
    [origin] = distribution["Origins"]

    assert distribution["DefaultCacheBehavior"]["TargetOriginId"] == origin["Id"]
    assert origin["OriginCustomHeaders"] == [{"HeaderName": SECRET_HEADER, "HeaderValue": {"Ref": "OriginSecret"}}]
    assert template["Parameters"]["OriginSecret"]["NoEcho"] is True


def test_the_function_may_only_read_the_table_in_every_region_that_holds_a_replica(template):
    table = resource(template, "DomainsTable", "AWS::DynamoDB::GlobalTable")
    role = resource(template, "EdgeFunctionRole", "AWS::IAM::Role")
    [policy] = role["Policies"]
    statements = policy["PolicyDocument"]["Statement"]

    dynamodb = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _list(s["Action"]))]
    replica_regions = {replica["Region"]["Ref"] for replica in table["Replicas"]}
    granted_regions = {_table_arn_region(arn["Fn::Sub"]) for statement in dynamodb for arn in statement["Resource"]}

    assert [_list(s["Action"]) for s in dynamodb] == [["dynamodb:GetItem"]]
    assert granted_regions == replica_regions
    assert len(replica_regions) == 3


def test_the_bundled_config_reads_the_table_and_replicas_the_template_creates_by_default(template, bundled_config):
    parameters = template["Parameters"]
    default_regions = {
        "us-east-1",
        parameters["SecondReplicaRegion"]["Default"],
        parameters["ThirdReplicaRegion"]["Default"],
    }

    assert parameters["TableName"]["Default"] == bundled_config["table_name"]
    assert set(bundled_config["replica_regions"]) == default_regions


def test_the_edge_function_serves_from_a_table_created_as_the_template_defines_it(
    template, dynamodb_endpoint, make_handler
):
    table = resource(template, "DomainsTable", "AWS::DynamoDB::GlobalTable")
    client = dynamodb_client(dynamodb_endpoint)
    client.create_table(
        TableName="edge-from-template",
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        BillingMode=table["BillingMode"],
    )
    client.update_time_to_live(TableName="edge-from-template", TimeToLiveSpecification=table["TimeToLiveSpecification"])
    client.put_item(  # the portal's item shape (see tests/edge_function/conftest.py Table)
        TableName="edge-from-template",
        Item={
            "host": {"S": "gallery.client.com"},
            "workspace_id": {"S": "ws-alice"},
            "state": {"S": "serve"},
            "version": {"N": "1"},
            "updated_at": {"S": "2026-01-01T00:00:00+00:00"},
        },
    )
    handler = make_handler("edge-from-template", {"us-east-1": dynamodb_endpoint})

    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    # Tombstones carry expires_at so DynamoDB deletes them by itself.
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_function_timeout_outlasts_a_request_that_meets_hung_replicas(template, bundled_config):
    function = resource(template, "EdgeFunction", "AWS::Lambda::Function")
    budget = bundled_config["lookup_budget_seconds"]

    # Every read of one request (the head on its poll, a shard, a hostname) shares one budget,
    # retries and failover included; only a TCP connect that hangs can outlast it, by its timeout.
    worst_case = budget + bundled_config["connect_timeout_seconds"]
    assert worst_case <= function["Timeout"] / 2
    # Without the budget, every replica and retry could spend the whole read timeout.
    unbounded = (
        len(bundled_config["replica_regions"])
        * (1 + bundled_config["retries_per_region"])
        * (bundled_config["connect_timeout_seconds"] + bundled_config["read_timeout_seconds"])
    )
    assert budget < unbounded


def test_the_function_has_memory_for_the_host_map_of_a_million_hostnames(template):
    function = resource(template, "EdgeFunction", "AWS::Lambda::Function")

    # About 170 bytes a hostname once a shard is loaded (bench/edge_cache_sim.py's hostnames), and a
    # long-lived container may load them all; the runtime and botocore take about 70 MB more.
    assert function["MemorySize"] >= 70 + 1_000_000 * 170 / 2**20


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _table_arn_region(arn: str) -> str:
    """The parameter naming the region of a `!Sub` table ARN; fails on any other ARN."""
    match = re.fullmatch(
        r"arn:\$\{AWS::Partition\}:dynamodb:\$\{([\w:]+)\}:\$\{AWS::AccountId\}:table/\$\{TableName\}", arn
    )
    assert match, f"not the edge table's ARN: {arn}"
    return match.group(1)


# --- CloudFront SaaS Manager: the multi-tenant distribution the portal adds tenants to ----------


def test_the_distribution_is_multi_tenant_with_the_workspace_id_as_a_required_tenant_parameter(template):
    from django.conf import settings

    distribution = resource(template, "Distribution", "AWS::CloudFront::Distribution")["DistributionConfig"]

    assert distribution["ConnectionMode"] == "tenant-only"
    # Tenants bring the domains and certificates; a multi-tenant distribution takes no aliases.
    assert "Aliases" not in distribution
    [parameter] = distribution["TenantConfig"]["ParameterDefinitions"]
    assert parameter["Name"] == settings.CLOUDFRONT_TENANT_PARAMETER
    assert parameter["Definition"]["StringSchema"]["Required"] is True


def test_tenants_answer_on_the_connection_group_whose_ids_the_portal_is_given(template):
    group = resource(template, "ConnectionGroup", "AWS::CloudFront::ConnectionGroup")
    outputs = template["Outputs"]

    assert outputs["MultiTenantDistributionId"]["Value"] == {"Ref": "Distribution"}
    assert outputs["ConnectionGroupId"]["Value"] == {"Fn::GetAtt": ["ConnectionGroup", "Id"]}
    # The wildcard *.<CNAME_ZONE> points at the group's routing endpoint; apex domains at its static IPs.
    assert outputs["RoutingEndpoint"]["Value"] == {"Fn::GetAtt": ["ConnectionGroup", "RoutingEndpoint"]}
    assert group["AnycastIpListId"] == {
        "Fn::If": ["HasStaticIps", {"Fn::GetAtt": ["StaticIps", "Id"]}, {"Ref": "AWS::NoValue"}]
    }
    assert outputs["StaticIpListId"]["Value"] == {"Fn::GetAtt": ["StaticIps", "Id"]}
    assert template["Resources"]["StaticIps"]["Type"] == "AWS::CloudFront::AnycastIpList"


def test_the_portal_may_call_exactly_the_cloudfront_actions_its_client_uses(template):
    import ast

    import boto3

    from domains.cdn import client as cdn_client

    policy = resource(template, "PortalCloudFrontPolicy", "AWS::IAM::ManagedPolicy")["PolicyDocument"]
    granted = {action for statement in policy["Statement"] for action in _list(statement["Action"])}
    tree = ast.parse(open(cdn_client.__file__, encoding="utf-8").read())
    methods = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_call" and node.args
    }
    api = boto3.session.Session().client("cloudfront", region_name="us-east-1").meta.method_to_api_mapping

    assert granted == {f"cloudfront:{api[method]}" for method in methods}
    assert len(methods) == 7
