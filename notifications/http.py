"""The one wrapper for webhook receivers: one POST, to a public address, within explicit time limits.

No server-side request forgery: the hostname is resolved here, at delivery
time, and the address actually connected to is the one checked (so DNS
rebinding between a check and the connection does not help). Only global
addresses are allowed; loopback too when WEBHOOK_ALLOW_LOOPBACK is on (the
local stack). Redirects are never followed (a 3xx is a failure), the
connection gets WEBHOOK_CONNECT_TIMEOUT, the whole attempt WEBHOOK_TIMEOUT,
and at most WEBHOOK_RESPONSE_MAX_BYTES of the answer are read.
"""

import functools
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "VE.AI-Webhooks/1"


class DeliveryRefused(Exception):
    """The URL or the address it resolves to may not be called; nothing was sent."""


class DeliveryFailed(Exception):
    """The attempt was made and did not get an answer (connection, TLS, timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    latency_ms: int


def url_problem(url: str) -> str | None:
    """Why this URL can never be an endpoint here (scheme, credentials, host), or None; checked again at delivery."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "The URL is not valid."
    allowed = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in allowed:
        return "The URL must start with https://." if settings.WEBHOOK_REQUIRE_HTTPS else "The URL must be http(s)."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username or parts.password:
        return "The URL must not carry a user name or password."
    if port == 0:
        return "The URL's port is not valid."
    return None


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return settings.WEBHOOK_ALLOW_LOOPBACK
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> str:
    """The first allowed address `host` resolves to now; refused when none is."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryFailed(f"DNS: {host} did not resolve ({exc})") from None
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if address_allowed(address):
            return address
    raise DeliveryRefused(f"{host} resolves to {', '.join(sorted(set(addresses)))}, not a public address")


@functools.lru_cache(maxsize=4)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    """Verifying client context trusting `ca_bundle` (the system's store when empty), built once per bundle.

    Loading a trust store costs tens of milliseconds of CPU, more than a whole
    delivery to a nearby receiver; a context is safe to share between threads.
    """
    return ssl.create_default_context(cafile=ca_bundle or None)


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to `host` (Host header, SNI, certificate name) through the already-checked `address`."""

    def __init__(self, host: str, port: int, *, address: str, tls: bool, connect_timeout: float):
        super().__init__(host, port, timeout=connect_timeout)
        self._address, self._tls, self._connect_timeout = address, tls, connect_timeout
        # The Host header leaves out the scheme's own port ("example.com", not "example.com:443").
        self.default_port = 443 if tls else 80

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), timeout=self._connect_timeout)
        if self._tls:
            # SNI and the certificate check are for the URL's hostname, never the address connected to.
            # The connect timeout bounds the whole handshake (CPython applies it as one deadline).
            try:
                sock = _tls_context(settings.WEBHOOK_CA_BUNDLE).wrap_socket(sock, server_hostname=self.host)
            except ssl.SSLCertVerificationError as exc:
                raise DeliveryFailed(f"TLS: {self.host}'s certificate was not accepted: {exc.verify_message}") from None
        self.sock = sock


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` once. Raises DeliveryRefused (nothing sent) or DeliveryFailed (no answer)."""
    if problem := url_problem(url):
        raise DeliveryRefused(problem)
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    started = time.monotonic()
    address = resolve_public(parts.hostname, port)
    connection = _PinnedConnection(
        parts.hostname, port, address=address, tls=tls, connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT
    )
    # The total limit holds however slowly the receiver drips its answer: at the deadline the socket is shut.
    watchdog = threading.Timer(settings.WEBHOOK_TIMEOUT, _shut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.connect()
        connection.sock.settimeout(max(0.01, settings.WEBHOOK_TIMEOUT - (time.monotonic() - started)))
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        excerpt = response.read(settings.WEBHOOK_RESPONSE_MAX_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        elapsed = time.monotonic() - started
        if elapsed >= settings.WEBHOOK_TIMEOUT or isinstance(exc, TimeoutError):
            raise DeliveryFailed(f"timed out after {elapsed:.1f} s") from None
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        connection.close()
    return Answer(
        status=response.status,
        excerpt=excerpt.decode("utf-8", "replace"),
        latency_ms=int((time.monotonic() - started) * 1000),
    )


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would drop its TLS state
            # while the delivery thread is still using it (an AttributeError there, not a failed attempt).
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
