"""The settings the tests run with: the portal's, as the local stack runs them (DEBUG on), with the cache
in this process.

The portal's settings fail closed (DEBUG off unless set; then a SECRET_KEY and HTTPS are required), so
the test run turns DEBUG on here, before they are read, as devstack does for `make run`. pytest-django
still runs each test with settings.DEBUG False. Processes the tests start inherit both variables; the
tests of production settings start theirs with an environment of their own, and the tests of the shared
cache point it at a real redis-server.
"""

import os

os.environ["DEBUG"] = "true"
os.environ["CACHE_URL"] = "locmem://"

from portal.settings import *  # noqa: E402,F403

# The cast's passwords hash in microseconds, not the 0.4 s of production's PBKDF2 per user (a test
# signing in alice, bob and support spent over a second on it). Processes the tests start with the
# portal's own settings (the stack, production checks) keep the real hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
