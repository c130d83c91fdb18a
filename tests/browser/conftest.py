"""Fixtures for the browser tests: headless Debian Chromium against pytest-django's live_server.

Playwright's sync API runs an event loop in the test thread, so Django would
refuse ORM calls there (SynchronousOnlyOperation); the tests are synchronous
code that merely shares the thread, so that guard is switched off here.
"""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.test import Client

from domains import enqueue, tasks
from domains.dns import get_checker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
ZONE = "client-domain.com"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is not installed (Debian package chromium; `make test` installs it)"
        # A laptop without it skips; CI must never pass by skipping.
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Portal:
    """The live portal, with one lock that the server and the test thread share.

    The SQLite test database is one in-memory connection shared by the live
    server's threads and the test thread; Django warns that simultaneous
    queries through it fail at random. Every request, and every database step
    the test takes while a page is open (the beat-equivalent below), holds the lock.
    """

    def __init__(self, live_server, browser, dns_server):
        self.url = live_server.url
        self.browser = browser
        self.dns = dns_server
        self.lock = threading.RLock()
        self._contexts = []

    def session_cookie(self, user) -> dict:
        with self.lock:
            client = Client()
            client.force_login(user)
        return {
            "name": "sessionid",
            "value": client.cookies["sessionid"].value,
            "url": self.url,
        }

    def page(self, user=None, *, viewport=DESKTOP):
        context = self.browser.new_context(viewport=viewport, base_url=self.url)
        context.set_default_timeout(10_000)
        self._contexts.append(context)
        if user is not None:
            context.add_cookies([self.session_cookie(user)])
        return context.new_page()

    def run_due_checks(self) -> int:
        """What beat and a worker do every few seconds: dispatch due checks and run them."""
        with self.lock:
            return tasks.dispatch_due_checks()

    def shoot(self, page, name: str) -> None:
        """Save the page at desktop and at phone width (hostnames wrapping only after their dots at both)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
            assert not split_hostname_labels(page), f"{name} at {label} width breaks hostnames inside a label"
        page.set_viewport_size(original)

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def portal(live_server, browser, dns_server, settings, monkeypatch) -> Iterator[Portal]:
    # The checker asks the loopback DNS server, as the local stack does.
    settings.DNS_RESOLVERS = [dns_server.address]
    settings.DNS_NAMESERVER_PORT = dns_server.port
    settings.DNS_TIMEOUT = 0.3
    settings.DNS_ALLOW_PRIVATE_NAMESERVERS = True  # devdns is on loopback
    get_checker.cache_clear()
    # The customer's zone exists, so a record not yet published is a definitive NXDOMAIN.
    dns_server.add(f"www.{ZONE}", "A", "192.0.2.1")

    # No broker: work queued after commit is dropped (the edge copy is not under
    # test here, and adding a domain must not check it behind the test's back),
    # except the dispatcher's batches and "Check now", which the test runs
    # inline as a worker would.
    inline = {task.name: task for task in (tasks.check_domains, tasks.check_domain_now)}

    def publish(task_name: str, args: tuple) -> None:
        if task_name in inline:
            inline[task_name].run(*args)

    monkeypatch.setattr(enqueue, "_publish", publish)

    portal = Portal(live_server, browser, dns_server)
    httpd = live_server.thread.httpd
    app = httpd.get_app()

    def locked_app(environ, start_response):
        with portal.lock:
            return list(app(environ, start_response))

    httpd.set_app(locked_app)
    try:
        yield portal
    finally:
        portal.close()
        httpd.set_app(app)
        get_checker.cache_clear()


def split_hostname_labels(page) -> list[str]:
    """The hostname labels (|breakable) the page shows across two lines, e.g. "client-" / "domain."."""
    return page.evaluate(
        "[...document.querySelectorAll('.host .label')].filter(e => e.getClientRects().length > 1).map(e => e.textContent)"
    )
