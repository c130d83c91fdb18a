"""What `make run` hands the local CloudFront and the portal: ports, the CloudFront settings, the platform zone."""

import dns.message
import dns.query

from devdns.server import DevDnsServer
from devstack.client import free_ports
from devstack.stack import Ports, Stack
from edgelocal import tenants


def test_the_portal_is_pointed_at_the_local_cloudfront_with_ids_it_accepts(tmp_path):
    stack = Stack(ports=Ports(), var_dir=tmp_path)

    env = stack.environment()

    assert env["CLOUDFRONT_ENDPOINT_URL"] == "http://127.0.0.1:8082"
    assert env["CLOUDFRONT_DISTRIBUTION_ID"] == tenants.DISTRIBUTION_ID
    assert env["CLOUDFRONT_CONNECTION_GROUP_ID"] == tenants.CONNECTION_GROUP_ID
    assert env["VE_EDGE_TLS_PORT"] == "8443"
    assert env["EDGE_APEX_ADDRESSES"] == "127.0.0.1"
    assert env["EDGE_CA_FILE"] == str(tmp_path / "edge-ca.pem")


def test_every_process_gets_its_own_free_port():
    ports = free_ports()

    assert len(set(vars(ports).values())) == len(vars(Ports()))


def test_every_unique_target_resolves_to_the_local_edge(tmp_path):
    stack = Stack(ports=Ports(), var_dir=tmp_path)

    stack.publish_platform_zone()
    stack.publish_platform_zone()  # a second make run changes nothing

    with DevDnsServer(stack.devdns_state) as server:
        answer = dns.query.udp(
            dns.message.make_query("k3x9p2.domain.ve.ai", "A"), "127.0.0.1", timeout=2, port=server.port
        )
    assert [rdata.address for rrset in answer.answer for rdata in rrset] == ["127.0.0.1"]
