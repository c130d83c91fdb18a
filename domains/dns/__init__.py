"""What DNS says about a hostname: the verifier's wrapper around dnspython.

No Django models here; settings come in as a `DnsConfig`. The Django side
calls `get_checker().check(CheckRequest(...))` (or `check_many`) and stores
`result.to_dict()` fields in a DomainCheck.
"""

from domains.dns.checker import MAX_CNAME_HOPS, DomainChecker, get_checker
from domains.dns.config import DnsConfig, parse_server
from domains.dns.result import CheckRequest, CheckResult, Hop, Outcome

__all__ = [
    "MAX_CNAME_HOPS",
    "CheckRequest",
    "CheckResult",
    "DnsConfig",
    "DomainChecker",
    "Hop",
    "Outcome",
    "get_checker",
    "parse_server",
]
