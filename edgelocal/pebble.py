"""Debian's pebble (the ACME test CA), set up to validate through devdns against the local edge.

    python -m edgelocal.pebble --port 14000 --management-port 15000 --http-port 8080 \
        --tls-port 8443 --dns 127.0.0.1:5300 --dir var/pebble

Pebble needs a certificate for its own HTTPS listeners: `ensure_listener_tls`
makes a small CA and a certificate for 127.0.0.1/localhost in ``--dir`` (kept
across runs); clients of pebble trust ``<dir>/listener-ca.pem``. The
configuration points pebble's HTTP-01 validation at the edge's HTTP port
(``httpPort``) and its DNS at devdns (``-dnsserver``), so a certificate is
issued only when the hostname really resolves to the edge and the edge
answers the challenge. ``PEBBLE_VA_NOSLEEP=1`` drops pebble's artificial
validation delay, ``PEBBLE_WFE_NONCEREJECT=0`` its random nonce rejections and
``PEBBLE_AUTHZREUSE=0`` its reuse of earlier validations.

The roots pebble issues under are made anew at every start; the stand-in reads
them from the management API (``/roots/0``, ``/intermediates/0``).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import shutil
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LISTENER_CA = "listener-ca.pem"
LISTENER_CERT = "listener-cert.pem"
LISTENER_KEY = "listener-key.pem"
CONFIG = "pebble-config.json"
# No artificial validation delay, no random nonce rejections, and never reuse a valid
# authorization: every certificate is validated over the network afresh.
ENVIRONMENT = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}


def find_pebble() -> str | None:
    return shutil.which("pebble") or (os.access("/usr/bin/pebble", os.X_OK) and "/usr/bin/pebble") or None


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def ensure_listener_tls(directory: Path) -> Path:
    """A CA and a 127.0.0.1/localhost certificate for pebble's listeners; returns the CA file."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (directory / n for n in (LISTENER_CA, LISTENER_CERT, LISTENER_KEY))
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return ca_path
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("edgelocal pebble listener CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_path


def write_config(
    directory: Path, *, port: int, management_port: int, http_port: int, tls_port: int, host: str = "127.0.0.1"
) -> Path:
    ensure_listener_tls(directory)
    config = {
        "pebble": {
            "listenAddress": f"{host}:{port}",
            "managementListenAddress": f"{host}:{management_port}",
            "certificate": str(directory / LISTENER_CERT),
            "privateKey": str(directory / LISTENER_KEY),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    path = directory / CONFIG
    path.write_text(json.dumps(config, indent=2))
    return path


def command(binary: str, config: Path, dns: str) -> list[str]:
    return [binary, "-config", str(config), "-dnsserver", dns, "-strict=false"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m edgelocal.pebble", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=14000, help="the ACME directory's port")
    parser.add_argument("--management-port", type=int, default=15000)
    parser.add_argument("--http-port", type=int, default=8080, help="where HTTP-01 validation connects (the edge)")
    parser.add_argument("--tls-port", type=int, default=8443, help="where TLS-ALPN-01 would connect (unused)")
    parser.add_argument("--dns", default="127.0.0.1:5300", help="the DNS server pebble resolves through (devdns)")
    parser.add_argument("--dir", default="var/pebble", help="its configuration and listener certificate")
    args = parser.parse_args(argv)
    binary = find_pebble()
    if binary is None:
        raise SystemExit("pebble is not installed (make run installs it: scripts/system-packages.sh pebble)")
    directory = Path(args.dir).resolve()
    config = write_config(
        directory,
        port=args.port,
        management_port=args.management_port,
        http_port=args.http_port,
        tls_port=args.tls_port,
    )
    print(
        f"pebble (ACME test CA) on https://127.0.0.1:{args.port}/dir, validating HTTP-01 on port "
        f"{args.http_port} through DNS {args.dns}; its listener CA {directory / LISTENER_CA}",
        flush=True,
    )
    os.execve(binary, command(binary, config, args.dns), {**os.environ, **ENVIRONMENT})


if __name__ == "__main__":
    sys.exit(main())
