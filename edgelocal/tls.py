"""HTTPS for the stand-in: one listener, a certificate per hostname chosen by SNI.

`sni_context(registry)` is a server context whose ``sni_callback`` switches the
connection to the context of the tenant certificate that covers the name the
client asked for (cached per certificate). A name with no issued certificate
gets the edge's own default certificate (CloudFront's is ``*.cloudfront.net``),
which no client trusts for that name; one that goes on anyway (``curl -k``)
gets CloudFront's 403 from the edge.

`TlsServer` accepts plain connections and does the handshake in the
connection's own thread, so a slow or broken client never holds up the others.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ._http import Server
from .tenants import Registry, TlsIdentity

DEFAULT_NAME = "edgelocal.cloudfront.net"
HANDSHAKE_TIMEOUT = 10.0


def _context_from_pem(key_pem: str, chain_pem: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    # load_cert_chain reads files only: a private temporary file, removed at once.
    fd, path = tempfile.mkstemp(prefix="edgelocal-cert-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(chain_pem if chain_pem.endswith("\n") else chain_pem + "\n")
            fh.write(key_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context


def default_identity() -> tuple[str, str]:
    """A self-signed certificate for the edge's own name (key PEM, certificate PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{DEFAULT_NAME.split('.', 1)[1]}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"*.{DEFAULT_NAME.split('.', 1)[1]}")]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def sni_context(registry: Registry) -> ssl.SSLContext:
    default = _context_from_pem(*default_identity())
    contexts: dict[str, ssl.SSLContext] = {}
    lock = threading.Lock()

    def context_for(identity: TlsIdentity) -> ssl.SSLContext:
        with lock:
            context = contexts.get(identity.certificate_id)
            if context is None:
                context = contexts[identity.certificate_id] = _context_from_pem(identity.key_pem, identity.chain_pem)
            return context

    def choose(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        if not server_name:
            return None
        identity = registry.tls_identity(server_name)
        if identity is not None:
            connection.context = context_for(identity)
        return None

    default.sni_callback = choose
    return default


class TlsServer(Server):
    """The threaded HTTP server, speaking TLS with `context`."""

    def __init__(self, address, handler, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def get_request(self):
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request, client_address) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the certificate hangs up here, as with CloudFront
        request.settimeout(None)
        super().finish_request(request, client_address)
