"""A small authoritative DNS server on loopback that plays "the customer's DNS".

The local stack and the test suite point the domain verifier at it. Its records
and faults live in one JSON state file (`devdns.store.Store`), so the running
server (`devdns.server`), the `python -m devdns` CLI and test fixtures share a
single mechanism.
"""
