"""Errors the domain services raise; every interface maps them to its own shape."""

from domains.hostnames import InvalidHostname

__all__ = [
    "DomainError",
    "InvalidHostname",
    "NotAllowed",
    "WorkspaceLimitReached",
    "HostnameTaken",
    "InvalidTransition",
    "CheckRateLimited",
]


class DomainError(Exception):
    """Base for refusals a person can act on; the message is shown to them."""


class NotAllowed(DomainError):
    """The acting user's role does not allow this action."""


class WorkspaceLimitReached(DomainError):
    pass


class HostnameTaken(DomainError):
    """The hostname is already connected (never says to which other workspace)."""


class InvalidTransition(DomainError):
    """The domain's current status does not allow this action."""


class CheckRateLimited(DomainError):
    def __init__(self, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"This domain was checked a moment ago; try again in {retry_after_seconds} s.")
