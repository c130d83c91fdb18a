"""Gets real certificates for the stand-in's tenants: ACME with HTTP-01 against an ACME CA (pebble locally).

CloudFront with ``ValidationTokenHost: cloudfront`` asks ACM for a certificate
and serves ACM's HTTP validation token itself once the domain's DNS points at
CloudFront. This does the same with ACME (RFC 8555): for each pending
certificate it first asks DNS (the configured resolver, devdns locally) whether
every domain resolves to one of the edge's addresses; only then does it order
a certificate, publish the HTTP-01 key authorizations for the edge to answer at
``/.well-known/acme-challenge/<token>``, and let the CA validate them over the
network (pebble resolves the name through the same DNS and connects to the
edge's HTTP port). A certificate stays ``pending-validation`` through any
number of failed attempts until the registry's validation timeout, as ACM's
does; a CA that refuses the name outright fails it.

After the first certificate (and whenever the CA has restarted with new
roots), the CA's roots and intermediates are added to ``ca_file``: the one file
clients (curl --cacert) must trust. Pebble makes new roots at every start, so
the file keeps earlier ones: certificates issued before a restart stay valid.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.resolver
import josepy
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .tenants import Registry

log = logging.getLogger("edgelocal.issuer")

# ACME problem types that no retry can fix: the CA will never issue for the name.
PERMANENT_PROBLEMS = ("rejectedIdentifier", "caa", "badCSR", "unsupportedIdentifier")


@dataclass
class IssuerConfig:
    directory_url: str  # e.g. https://127.0.0.1:14000/dir
    dns_server: tuple[str, int]  # the resolver the CA uses too (devdns)
    edge_addresses: frozenset[str]  # where a domain must resolve to
    ca_file: Path  # the roots (and intermediates) clients must trust, written here
    trust: str | bool = True  # how to verify the CA's own HTTPS: a CA bundle path, or True
    management_url: str | None = None  # pebble's management API (roots, intermediates)
    dns_retry: float = 0.5  # a domain not yet pointing at the edge is asked again after this
    validation_retry: float = 3.0  # after a failed validation
    unreachable_retry: float = 2.0  # the CA did not answer
    order_timeout: float = 30.0
    workers: int = 8  # certificates validated at once (each attempt mostly waits on the CA)


class Issuer(threading.Thread):
    """A daemon thread that works through the registry's pending certificates."""

    def __init__(self, registry: Registry, config: IssuerConfig) -> None:
        super().__init__(name="edgelocal-issuer", daemon=True)
        self.registry = registry
        self.config = config
        self._stop = threading.Event()
        # One ACME account per worker thread: the library's client is not meant to be shared.
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="edgelocal-acme")
        self._ca_lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()
        self.registry.wake()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self) -> None:
        ca_written = False
        while not self._stop.is_set():
            try:
                # As soon as the CA answers, so the file exists before the first certificate.
                ca_written = ca_written or self.refresh_ca_file()
                lease = self.config.order_timeout + 30
                for certificate_id, domains in self.registry.due_certificates(lease=lease):
                    if self._stop.is_set():
                        return
                    self._pool.submit(self._attempt_logged, certificate_id, domains)
            except Exception:  # noqa: BLE001 - the issuer must outlive any one failure
                log.exception("issuer: unexpected failure")
                time.sleep(1)
            wait = self.registry.next_due_in()
            wait = min(wait, 5.0) if wait is not None else 5.0
            self.registry.wait_for_change(wait if ca_written else min(wait, 1.0))

    # One attempt ------------------------------------------------------------------------------

    def _attempt_logged(self, certificate_id: str, domains: tuple[str, ...]) -> None:
        try:
            self.attempt(certificate_id, domains)
        except Exception as exc:  # noqa: BLE001 - a worker must report, whatever happened
            log.exception("issuer: attempt for %s failed unexpectedly", ",".join(domains))
            self.registry.attempt_failed(certificate_id, f"unexpected: {exc!r}", self.config.validation_retry)

    def attempt(self, certificate_id: str, domains: tuple[str, ...]) -> None:
        started = time.monotonic()
        for domain in domains:
            problem = self._points_at_edge(domain)
            if problem:
                log.debug("issuer: %s not yet: %s", domain, problem)
                self.registry.attempt_failed(certificate_id, problem, self.config.dns_retry)
                return
        try:
            key_pem, chain_pem = self._order(certificate_id, domains)
        except (requests.RequestException, errors.ClientError) as exc:
            self._local.acme = None  # the CA may have restarted: a new account next time
            log.warning("issuer: the ACME CA did not answer (%s); retrying", exc)
            self.registry.attempt_failed(
                certificate_id, f"the certificate authority did not answer: {exc}", self.config.unreachable_retry
            )
            return
        except errors.ValidationError as exc:
            reason = _validation_problem(exc)
            log.info("issuer: validation of %s failed: %s", ",".join(domains), reason)
            self.registry.attempt_failed(certificate_id, reason, self.config.validation_retry)
            return
        except messages.Error as exc:
            if exc.code in PERMANENT_PROBLEMS:
                log.warning("issuer: the CA refuses %s: %s", ",".join(domains), exc)
                self.registry.fail(certificate_id, str(exc))
            else:
                if exc.code in ("accountDoesNotExist", "unauthorized", "badNonce", "malformed"):
                    self._local.acme = None
                self.registry.attempt_failed(certificate_id, str(exc), self.config.validation_retry)
            return
        except (errors.Error, TimeoutError) as exc:
            self.registry.attempt_failed(certificate_id, str(exc) or type(exc).__name__, self.config.validation_retry)
            return
        if self.registry.issue(certificate_id, key_pem, chain_pem):
            log.info(
                "issuer: issued certificate=%s domains=%s seconds=%.2f",
                certificate_id,
                ",".join(domains),
                time.monotonic() - started,
            )
            self.refresh_ca_file(chain_pem)

    def _points_at_edge(self, domain: str) -> str | None:
        """None when `domain` resolves to the edge through the configured DNS; else what is wrong."""
        resolver = dns.resolver.Resolver(configure=False)
        host, port = self.config.dns_server
        resolver.nameservers = [host]
        resolver.port = port
        resolver.lifetime = 2.0
        resolver.cache = None
        try:
            answer = resolver.resolve(domain, "A", search=False)
        except dns.resolver.NXDOMAIN:
            return f"{domain} does not exist in DNS"
        except dns.resolver.NoAnswer:
            return f"{domain} has no address"
        except dns.exception.DNSException as exc:
            return f"DNS did not answer about {domain}: {exc}"
        addresses = {rdata.address for rdata in answer}
        if addresses & self.config.edge_addresses:
            return None
        return f"{domain} resolves to {', '.join(sorted(addresses))}, not to CloudFront"

    def _client(self) -> client.ClientV2:
        if getattr(self._local, "acme", None) is None:
            key = josepy.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
            net = client.ClientNetwork(key, user_agent="ve-edgelocal", verify_ssl=self.config.trust, timeout=10)
            directory = client.ClientV2.get_directory(self.config.directory_url, net)
            acme = client.ClientV2(directory, net)
            acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
            self._local.acme = acme
        return self._local.acme

    def _order(self, certificate_id: str, domains: tuple[str, ...]) -> tuple[str, str]:
        acme = self._client()
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        order = acme.new_order(crypto_util.make_csr(key_pem, list(domains)))
        for authorization in order.authorizations:
            if authorization.body.status == messages.STATUS_VALID:
                continue
            challenge = next((c for c in authorization.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
            if challenge is None:
                raise errors.Error(f"the CA offers no HTTP-01 challenge for {authorization.body.identifier.value}")
            response, validation = challenge.response_and_validation(acme.net.key)
            self.registry.set_challenge(
                certificate_id, authorization.body.identifier.value, challenge.chall.encode("token"), validation
            )
            acme.answer_challenge(challenge, response)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=self.config.order_timeout)
        order = order.update(authorizations=[self._validated(acme, a, deadline) for a in order.authorizations])
        order = acme.finalize_order(order, deadline)
        return key_pem.decode(), order.fullchain_pem

    @staticmethod
    def _validated(
        acme: client.ClientV2, authorization: messages.AuthorizationResource, deadline: datetime.datetime
    ) -> messages.AuthorizationResource:
        """Poll one authorization until the CA has validated it (more often than the library's 1 s)."""
        pause = 0.05
        while authorization.body.status == messages.STATUS_PENDING:
            if datetime.datetime.now() > deadline:
                raise errors.TimeoutError()
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
            authorization, _ = acme.poll(authorization)
        if authorization.body.status != messages.STATUS_VALID:
            raise errors.ValidationError([authorization])
        return authorization

    # The file clients trust ---------------------------------------------------------------------

    def refresh_ca_file(self, chain_pem: str | None = None) -> bool:
        """Add the CA's current roots and intermediates to `ca_file` (keeping earlier ones)."""
        pems: list[str] = []
        if self.config.management_url:
            for kind in ("roots", "intermediates"):
                try:
                    response = requests.get(
                        f"{self.config.management_url.rstrip('/')}/{kind}/0", verify=self.config.trust, timeout=5
                    )
                    response.raise_for_status()
                except requests.RequestException as exc:
                    log.debug("issuer: cannot read the CA's %s: %s", kind, exc)
                    return False
                pems.extend(_split_pems(response.text))
        elif chain_pem:
            pems.extend(_split_pems(chain_pem)[1:])
        path = self.config.ca_file
        with self._ca_lock:
            existing = _split_pems(path.read_text()) if path.exists() else []
            merged = existing + [p for p in pems if p not in existing]
            if merged != existing or not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text("".join(_described(p) for p in merged))
                tmp.replace(path)
        return True


def _split_pems(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [
        part[part.index("-----BEGIN") :].strip() + "\n" + end + "\n" for part in text.split(end) if "-----BEGIN" in part
    ]


def _described(pem: str) -> str:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return f"# {certificate.subject.rfc4514_string()}\n{pem}"


def _validation_problem(exc: errors.ValidationError) -> str:
    problems = []
    for authorization in exc.failed_authzrs:
        for challenge in authorization.body.challenges:
            if challenge.error is not None:
                problems.append(f"{authorization.body.identifier.value}: {challenge.error.detail or challenge.error}")
    return "; ".join(problems) or "validation failed"
