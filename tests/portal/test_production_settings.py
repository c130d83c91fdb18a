"""Production fails closed: the settings as a fresh process reads them from the environment it is given.

Each test starts Python (or manage.py) in a subprocess with only the
environment it names, so neither the test run's settings (tests/settings.py
turns DEBUG on) nor the developer's shell leak in.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def settings_in(env: dict[str, str], tmp_path: Path, *names: str) -> dict:
    """The named settings as a process started with `env` sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    finished = run(["-c", code], env, tmp_path)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def a_secret_key() -> str:
    return secrets.token_urlsafe(50)


# Production also needs CloudFront's ids (tests/portal/test_cloudfront_settings.py); these tests give them.
CLOUDFRONT = {"CLOUDFRONT_DISTRIBUTION_ID": "E1EXAMPLE", "CLOUDFRONT_CONNECTION_GROUP_ID": "cg_example"}


def readme_production_environment() -> dict[str, str]:
    """The environment block under "Running it on real AWS", placeholders (<…>) filled with random text."""
    section = README.read_text().split("## Running it on real AWS", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    env = {}
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        env[name] = re.sub(r"<[^>]*>", lambda _: secrets.token_urlsafe(50), value)
    return env


class TestDebugAndTheSecretKey:
    def test_debug_is_off_unless_the_environment_turns_it_on(self, tmp_path):
        assert settings_in({"SECRET_KEY": a_secret_key(), **CLOUDFRONT}, tmp_path, "DEBUG") == {"DEBUG": False}
        assert settings_in({"DEBUG": "true"}, tmp_path, "DEBUG") == {"DEBUG": True}

    @pytest.mark.parametrize("secret_key", [None, "", "dev-only-insecure-secret-key-change-me"])
    def test_without_debug_a_real_secret_key_is_required_with_a_clear_message(self, tmp_path, secret_key):
        env = {} if secret_key is None else {"SECRET_KEY": secret_key}
        finished = run(["manage.py", "check"], env, tmp_path)
        assert finished.returncode != 0
        assert "Traceback" not in finished.stderr
        assert "SECRET_KEY" in finished.stderr and "DEBUG" in finished.stderr
        assert finished.stderr.count("\n") <= 3, finished.stderr

    def test_with_debug_the_development_key_is_used(self, tmp_path):
        assert settings_in({"DEBUG": "true"}, tmp_path, "SECRET_KEY")["SECRET_KEY"].startswith("dev-only")

    def test_the_local_stack_turns_debug_on(self, tmp_path):
        from devstack.stack import Ports, Stack

        assert Stack(ports=Ports(), var_dir=tmp_path).environment()["DEBUG"] == "true"


class TestHttps:
    def test_without_debug_https_is_required_and_cookies_are_secure(self, tmp_path):
        names = (
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
        )
        production = settings_in({"SECRET_KEY": a_secret_key(), **CLOUDFRONT}, tmp_path, *names)
        assert production["SECURE_SSL_REDIRECT"] and production["SECURE_HSTS_SECONDS"] >= 31536000
        assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
        assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
        local = settings_in({"DEBUG": "true"}, tmp_path, *names)
        assert not local["SECURE_SSL_REDIRECT"] and local["SECURE_HSTS_SECONDS"] == 0
        assert not local["SESSION_COOKIE_SECURE"]

    def test_the_load_balancers_https_header_is_a_setting(self, tmp_path):
        env = {"SECRET_KEY": a_secret_key(), "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto", **CLOUDFRONT}
        header = settings_in(env, tmp_path, "SECURE_PROXY_SSL_HEADER")["SECURE_PROXY_SSL_HEADER"]
        assert header == ["HTTP_X_FORWARDED_PROTO", "https"]
        assert settings_in({"DEBUG": "true"}, tmp_path, "SECURE_PROXY_SSL_HEADER") == {"SECURE_PROXY_SSL_HEADER": None}

    def test_check_deploy_reports_nothing_with_the_readmes_production_environment(self, tmp_path):
        env = readme_production_environment()
        assert env.get("DEBUG", "false") == "false" and "SECRET_KEY" in env and "ALLOWED_HOSTS" in env

        finished = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "System check identified no issues" in finished.stdout, finished.stdout + finished.stderr
        assert "WARNING" not in finished.stderr + finished.stdout


class TestTheSharedCache:
    def test_throttles_count_in_redis_at_redis_url_unless_cache_url_says_otherwise(self, tmp_path):
        env = {"DEBUG": "true", "REDIS_URL": "redis://redis.internal:6379/0"}
        cache = settings_in(env, tmp_path, "CACHES")["CACHES"]["default"]
        assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert cache["LOCATION"] == "redis://redis.internal:6379/0"

        env["CACHE_URL"] = "redis://cache.internal:6379/3"
        assert settings_in(env, tmp_path, "CACHES")["CACHES"]["default"]["LOCATION"] == env["CACHE_URL"]

    def test_an_unknown_cache_url_is_refused(self, tmp_path):
        finished = run(
            ["-c", "import django; django.setup()"], {"DEBUG": "true", "CACHE_URL": "memcached://x"}, tmp_path
        )
        assert finished.returncode != 0 and "CACHE_URL" in finished.stderr
