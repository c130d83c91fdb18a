"""One webhook POST: only to public addresses (loopback when the local stack allows it), within its time limits.

HTTPS is proven against a real TLS receiver on loopback with certificates made here by a private CA.
"""

import datetime
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from notifications import http
from tests.notifications.receivers import Receiver


def post(url: str) -> http.Answer:
    return http.post(url=url, body=b'{"type": "webhook.test"}', headers={"webhook-id": "msg_1"})


def test_loopback_is_refused_unless_the_setting_allows_it_and_nothing_is_sent(receiver, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(http.DeliveryRefused, match="127.0.0.1, not a public address"):
        post(receiver.url)
    with pytest.raises(http.DeliveryRefused, match="not a public address"):
        post(receiver.url.replace("127.0.0.1", "localhost"))
    with pytest.raises(http.DeliveryRefused, match="not a public address"):
        post(receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]"))
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.7]/hooks",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
    ],
)
def test_private_link_local_and_mapped_addresses_are_refused_even_with_loopback_allowed(url, loopback_allowed):
    with pytest.raises(http.DeliveryRefused):
        post(url)


def test_production_wants_https(settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(http.DeliveryRefused, match="https"):
        post("http://example.com/hooks")
    assert http.url_problem("https://user:pw@example.com/") == "The URL must not carry a user name or password."
    assert http.url_problem("https://example.com/hooks") is None


def test_the_receiver_gets_our_headers_and_we_keep_a_few_kb_of_its_answer(receiver, loopback_allowed):
    receiver.answer = b"x" * 100_000

    answer = post(receiver.url + "?tenant=acme")

    assert answer.status == 200 and len(answer.excerpt) == 4096
    (got,) = receiver.received
    assert got.path == "/hooks?tenant=acme" and got.body == b'{"type": "webhook.test"}'
    assert got.headers["webhook-id"] == "msg_1" and got.headers["Content-Type"] == "application/json"


def test_a_redirect_is_not_followed(receiver, second_receiver, loopback_allowed):
    receiver.status, receiver.location = 302, second_receiver.url

    answer = post(receiver.url)

    assert answer.status == 302
    assert second_receiver.received == []


def test_a_receiver_slower_than_the_total_limit_is_given_up_on_time(receiver, loopback_allowed):
    loopback_allowed.WEBHOOK_TIMEOUT = 0.5
    receiver.delay = 3

    started = time.monotonic()
    with pytest.raises(http.DeliveryFailed, match="timed out"):
        post(receiver.url)
    assert time.monotonic() - started < 1.5


def test_a_closed_port_is_a_failure_not_a_hang(loopback_allowed):
    with pytest.raises(http.DeliveryFailed):
        post("http://127.0.0.1:9/hooks")


# --- HTTPS: a real TLS receiver on loopback, with certificates made here --------------------------------------------


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(*, subject: str, names: list[str], key, issuer_name: x509.Name | None = None, issuer_key=None):
    """A certificate for `names` (DNS names), signed by the issuer (self-signed without one)."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertificateAuthority:
    """A private CA whose certificate is the file WEBHOOK_CA_BUNDLE points at."""

    directory: Path
    key: ec.EllipticCurvePrivateKey = field(default_factory=_key)

    def __post_init__(self):
        self.certificate = _certificate(subject="VE.AI test CA", names=[], key=self.key)
        self.bundle = self.directory / "ca.pem"
        self.bundle.write_bytes(_pem(self.certificate))

    def server_context(self, *names: str) -> ssl.SSLContext:
        key = _key()
        leaf = _certificate(
            subject=names[0], names=list(names), key=key, issuer_name=self.certificate.subject, issuer_key=self.key
        )
        return _context_for(self.directory, key, _pem(leaf) + _pem(self.certificate))


def self_signed_context(directory: Path, name: str) -> ssl.SSLContext:
    key = _key()
    return _context_for(directory, key, _pem(_certificate(subject=name, names=[name], key=key)))


def _context_for(directory: Path, key, chain: bytes) -> ssl.SSLContext:
    path = directory / f"server-{secrets.token_hex(4)}.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(chain + key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path)
    return context


@dataclass
class TlsReceiver(Receiver):
    """The loopback receiver over TLS; it notes the name each client asked for (SNI) and what was POSTed."""

    context: ssl.SSLContext | None = None
    server_names: list[str | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.url_for("localhost")

    def url_for(self, host: str) -> str:
        return f"https://{host}:{self.server.server_address[1]}/hooks"

    def _server(self, handler) -> ThreadingHTTPServer:
        receiver = self
        self.context.sni_callback = lambda _conn, name, _ctx: receiver.server_names.append(name)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = self.socket.accept()
                return receiver.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

            def finish_request(self, request, client_address):
                request.settimeout(5)
                try:
                    request.do_handshake()
                except OSError:
                    return  # a client that does not trust us hangs up here
                super().finish_request(request, client_address)

        return Server(("127.0.0.1", 0), handler)


@pytest.fixture
def certificate_authority(tmp_path, settings) -> CertificateAuthority:
    """A private CA the wrapper trusts; https required as in production, loopback allowed as in the local stack."""
    authority = CertificateAuthority(tmp_path)
    settings.WEBHOOK_CA_BUNDLE = str(authority.bundle)
    settings.WEBHOOK_REQUIRE_HTTPS = True
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    return authority


@pytest.fixture
def tls_receivers():
    started = []

    def start(context: ssl.SSLContext) -> TlsReceiver:
        started.append(TlsReceiver(context=context).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def test_a_receiver_with_a_trusted_certificate_for_the_urls_hostname_gets_the_post(
    certificate_authority, tls_receivers
):
    # The certificate names only "localhost", not 127.0.0.1: verified against the IP, the handshake would fail.
    receiver = tls_receivers(certificate_authority.server_context("localhost"))

    answer = post(receiver.url_for("localhost"))

    assert answer.status == 200 and answer.excerpt == "ok"
    (got,) = receiver.received
    assert got.body == b'{"type": "webhook.test"}' and got.headers["webhook-id"] == "msg_1"
    assert got.headers["Host"] == f"localhost:{receiver.server.server_address[1]}"
    assert receiver.server_names == ["localhost"], "SNI carried the URL's hostname"


def test_the_same_certificate_does_not_pass_for_the_address_itself(certificate_authority, tls_receivers):
    receiver = tls_receivers(certificate_authority.server_context("localhost"))

    with pytest.raises(http.DeliveryFailed, match="127.0.0.1's certificate was not accepted: IP address mismatch"):
        post(receiver.url_for("127.0.0.1"))
    assert receiver.received == []


def test_a_self_signed_certificate_fails_clearly_and_nothing_is_sent(certificate_authority, tls_receivers, tmp_path):
    receiver = tls_receivers(self_signed_context(tmp_path, "localhost"))

    with pytest.raises(http.DeliveryFailed, match="localhost's certificate was not accepted: self.signed certificate"):
        post(receiver.url)
    assert receiver.received == []


def test_a_certificate_for_another_name_fails_clearly_and_nothing_is_sent(certificate_authority, tls_receivers):
    receiver = tls_receivers(certificate_authority.server_context("hooks.example.com"))

    with pytest.raises(http.DeliveryFailed, match="localhost's certificate was not accepted: Hostname mismatch"):
        post(receiver.url)
    assert receiver.received == []


def test_without_a_bundle_only_the_systems_trust_store_counts(certificate_authority, tls_receivers, settings):
    receiver = tls_receivers(certificate_authority.server_context("localhost"))
    settings.WEBHOOK_CA_BUNDLE = ""

    with pytest.raises(
        http.DeliveryFailed, match="certificate was not accepted: self.signed certificate in certificate chain"
    ):
        post(receiver.url)
    assert receiver.received == []


def test_over_tls_a_redirect_is_not_followed_and_a_few_kb_of_the_answer_are_kept(certificate_authority, tls_receivers):
    second = tls_receivers(certificate_authority.server_context("localhost"))
    receiver = tls_receivers(certificate_authority.server_context("localhost"))
    receiver.status, receiver.location, receiver.answer = 302, second.url, b"x" * 100_000

    answer = post(receiver.url)

    assert answer.status == 302 and len(answer.excerpt) == 4096
    assert len(receiver.received) == 1 and second.received == []


def test_over_tls_a_slow_answer_is_given_up_on_time(certificate_authority, tls_receivers, settings):
    settings.WEBHOOK_TIMEOUT = 0.5
    receiver = tls_receivers(certificate_authority.server_context("localhost"))
    receiver.delay = 3

    started = time.monotonic()
    with pytest.raises(http.DeliveryFailed, match="timed out"):
        post(receiver.url)
    assert time.monotonic() - started < 1.5


def test_a_handshake_dripped_out_byte_by_byte_is_given_up_after_the_connect_timeout(certificate_authority, settings):
    """Each byte comes well within the connect timeout, which still bounds the handshake as a whole."""
    settings.WEBHOOK_TIMEOUT, settings.WEBHOOK_CONNECT_TIMEOUT = 5.0, 0.4
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"\x16\x03\x03\x40\x00")  # a TLS handshake record of 16 KB ...
            while not stop.wait(0.1):  # ... sent one byte at a time
                try:
                    conn.sendall(b"\x00")
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(http.DeliveryFailed, match="timed out"):
            post(f"https://localhost:{listener.getsockname()[1]}/hooks")
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        listener.close()


def test_the_host_header_leaves_out_the_schemes_own_port():
    connection = http._PinnedConnection("hooks.example.com", 443, address="192.0.2.1", tls=True, connect_timeout=1.0)
    connection.putrequest("POST", "/hooks")
    assert b"Host: hooks.example.com\r\n" in b"\r\n".join(connection._buffer) + b"\r\n"
