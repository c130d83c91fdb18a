"""Errors the domain services raise; every interface maps them to its own shape.

NotAllowed (a role refusal) belongs to workspaces.roles and is re-exported here
for the services' callers.
"""

from domains.hostnames import InvalidHostname
from workspaces.roles import NotAllowed

__all__ = [
    "DomainError",
    "InvalidHostname",
    "NotAllowed",
    "WorkspaceLimitReached",
    "HostnameTaken",
    "HostnameBlocked",
    "InvalidTransition",
    "CheckRateLimited",
]


class DomainError(Exception):
    """Base for refusals a person can act on; the message is shown to them."""


class WorkspaceLimitReached(DomainError):
    pass


class HostnameTaken(DomainError):
    """The hostname is already connected (never says to which other workspace)."""


class HostnameBlocked(HostnameTaken):
    """Support blocked the hostname (suspended a domain of it); only support lifts the block."""


class InvalidTransition(DomainError):
    """The domain's current status does not allow this action."""


class CheckRateLimited(DomainError):
    def __init__(self, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"This domain was checked a moment ago; try again in {retry_after_seconds} s.")
