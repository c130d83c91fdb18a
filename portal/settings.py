"""Settings for the VE.AI custom-domain portal.

Everything is read from the environment through the typed helpers in
`portal.env`. Production fails closed: DEBUG is off unless DEBUG=true, and
without it a SECRET_KEY is required and HTTPS is enforced. The development
defaults apply with DEBUG=true, which the local stack (`make run`) and the
tests set.
"""

import math
from datetime import timedelta
from pathlib import Path

import dj_database_url

from portal.env import ImproperEnvironment, env_bool, env_float, env_int, env_int_list, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# --- Core ---------------------------------------------------------------------

# Off unless the environment turns it on (devstack and tests/settings.py do).
DEBUG = env_bool("DEBUG", False)
# The development key is used only with DEBUG on; without DEBUG a real key is
# required, and a process refuses to start without one: one clear line on
# stderr and exit status 1, before it does anything else.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", "") or (_DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", _DEV_SECRET_KEY):
    raise SystemExit(
        "portal: SECRET_KEY must be set to a long random value because DEBUG is off (it is off unless "
        "DEBUG=true). Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "workspaces",
    "domains",
    "notifications",
]

MIDDLEWARE = [
    "portal.logging.RequestIdMiddleware",
    # The site's own 404 and 500 pages, not Django's debug pages, even with DEBUG on (the local stack).
    "portal.middleware.SiteErrorPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the request (sessions, auth, the views): a NUL byte is a 400.
    "portal.middleware.RefuseNulBytesMiddleware",
    # Serves the portal's own CSS/JS and the admin's from STATIC_ROOT in
    # production (after `collectstatic`); no CDN, no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The portal, the worker and beat share one SQLite file locally: take the
    # write lock when a transaction starts and wait for it instead of failing.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Sign-in limits (django-axes; the web UI's and the admin's sign-in): after
# SIGNIN_FAILURE_LIMIT failed attempts for one account, or from one address,
# within SIGNIN_LOCKOUT_MINUTES, that account (from anywhere) or that address
# (for any account) is refused with a 429 until the window has passed. The
# attempts are rows in the database, so every process counts the same ones;
# support sees them in the admin and lifts one early with
# `manage.py axes_reset_username NAME` or `axes_reset_ip ADDRESS`. A success
# does not wipe the count, so signing in to one's own account cannot reset an
# address that is guessing others' passwords.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "portal.clients.client_address"
# No "AXES: BEGIN" banner from every process at start.
AXES_VERBOSE = False
AXES_COOLOFF_MESSAGE = "Too many failed sign-ins for this account or from this address. Try again later."
# A locked-out sign-in gets the site's own page (429) saying how long the pause lasts.
AXES_LOCKOUT_CALLABLE = "portal.lockout.signin_locked_out"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Where the tenant pages send people who need support (a suspended domain links to it).
SUPPORT_URL = env_str("SUPPORT_URL", "mailto:support@ve.ai")
# One date format in the web UI and the admin (portal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# Without `collectstatic` (development, tests) WhiteNoise finds files where
# runserver would; production serves what `collectstatic` gathered.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

SESSION_COOKIE_HTTPONLY = True

# --- HTTPS --------------------------------------------------------------------

# Without DEBUG, HTTPS only: plain HTTP is redirected, browsers are told to
# insist on HTTPS for a year (HSTS), cookies travel only over HTTPS.
# `manage.py check --deploy` reports nothing with the README's production
# environment (tests/portal/test_production_settings.py runs it).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers' health checks come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Only a header: nothing happens unless someone submits the domain to the browsers' preload list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Behind a load balancer that terminates TLS: the header it sets to "https"
# (e.g. X-Forwarded-Proto). Only name one the balancer always sets itself, or
# a client could claim HTTPS. Empty: the request's own scheme counts.
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
# How many proxies (load balancers) in front of the portal append to
# X-Forwarded-For: the client's address is the one they saw. 0 trusts no
# X-Forwarded-For at all (REMOTE_ADDR). Used by the API's throttles and the
# sign-in limits (portal.clients.client_address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Custom domains -----------------------------------------------------------

# Each domain's unique DNS target is <token>.<CNAME_ZONE>; a wildcard record for
# the zone points at CloudFront.
CNAME_ZONE = env_str("CNAME_ZONE", "domain.ve.ai").strip().lower().rstrip(".")
# Hostnames inside the platform's own zones can never be added by a tenant.
PLATFORM_ZONES = [z.lower().rstrip(".") for z in env_list("PLATFORM_ZONES", "ve.ai")]
MAX_DOMAINS_PER_WORKSPACE = env_int("MAX_DOMAINS_PER_WORKSPACE", 20)

# --- Edge copy (DynamoDB) ----------------------------------------------------

DYNAMODB_TABLE = env_str("DYNAMODB_TABLE", "ve-custom-domains")
# All writes go to the home region; global-table replication carries them on.
DYNAMODB_HOME_REGION = env_str("DYNAMODB_HOME_REGION", "us-east-1")
DYNAMODB_REPLICA_REGIONS = env_list("DYNAMODB_REPLICA_REGIONS", "")
# A local DynamoDB-compatible endpoint (moto server); empty means real AWS.
DYNAMODB_ENDPOINT_URL = env_str("DYNAMODB_ENDPOINT_URL", "")
DYNAMODB_CONNECT_TIMEOUT = env_float("DYNAMODB_CONNECT_TIMEOUT", 2.0)
DYNAMODB_READ_TIMEOUT = env_float("DYNAMODB_READ_TIMEOUT", 5.0)
# botocore's attempts per call (first try included); the outbox retries beyond that.
DYNAMODB_MAX_ATTEMPTS = env_int("DYNAMODB_MAX_ATTEMPTS", 3)
# Parallel Scan segments and delivery threads; the pool also sizes the HTTP pool.
DYNAMODB_SCAN_SEGMENTS = env_int("DYNAMODB_SCAN_SEGMENTS", 8)
EDGE_DELIVERY_WORKERS = env_int("EDGE_DELIVERY_WORKERS", 16)
# Tombstones outlive any late delivery of an older state, then DynamoDB's TTL removes them.
EDGE_TOMBSTONE_DAYS = env_int("EDGE_TOMBSTONE_DAYS", 3)
# Failed deliveries wait base * 2^(attempts-1) seconds (jittered), at most the max.
EDGE_RETRY_BASE_SECONDS = env_float("EDGE_RETRY_BASE_SECONDS", 5.0)
EDGE_RETRY_MAX_SECONDS = env_float("EDGE_RETRY_MAX_SECONDS", 900.0)
# The sweep leaves fresh rows to their after-commit task for this long.
EDGE_SWEEP_GRACE_SECONDS = env_float("EDGE_SWEEP_GRACE_SECONDS", 30.0)
EDGE_SWEEP_BATCH = env_int("EDGE_SWEEP_BATCH", 2000)
# The edge's host map (domains.edge.shards): how many shards (each a DynamoDB item, keep
# them well under 400 KB: about 17 bytes a hostname compressed), how often at most one shard
# is rebuilt, and how long a change stays listed in the head for warm edges to patch in.
EDGE_SHARD_COUNT = env_int("EDGE_SHARD_COUNT", 16)
EDGE_SHARD_DEBOUNCE_SECONDS = env_float("EDGE_SHARD_DEBOUNCE_SECONDS", 1.0)
EDGE_SHARD_DELTA_SECONDS = env_float("EDGE_SHARD_DELTA_SECONDS", 120.0)

# --- HTTPS at CloudFront (SaaS Manager) ---------------------------------------

# Each proven domain gets a distribution tenant of this multi-tenant distribution, in this
# connection group (where the *.<CNAME_ZONE> wildcard points), with a CloudFront-managed
# certificate (domains.cdn). Without a distribution the step is off and DNS proof makes a
# domain active at once, as on a stack without CloudFront (the tests, a bare `make run`).
CLOUDFRONT_DISTRIBUTION_ID = env_str("CLOUDFRONT_DISTRIBUTION_ID", "")
CLOUDFRONT_CONNECTION_GROUP_ID = env_str("CLOUDFRONT_CONNECTION_GROUP_ID", "")
# Fail closed: with DEBUG off, HTTPS provisioning is on unless CLOUDFRONT_ENABLED=false says
# otherwise, and then the settings refuse to load without the distribution and connection group.
CLOUDFRONT_ENABLED = env_bool("CLOUDFRONT_ENABLED", bool(CLOUDFRONT_DISTRIBUTION_ID) or not DEBUG)
if CLOUDFRONT_ENABLED and not (CLOUDFRONT_DISTRIBUTION_ID and CLOUDFRONT_CONNECTION_GROUP_ID):
    raise SystemExit(
        "portal: CLOUDFRONT_DISTRIBUTION_ID and CLOUDFRONT_CONNECTION_GROUP_ID must be set (deploy/edge.yaml's "
        "MultiTenantDistributionId and ConnectionGroupId outputs) because HTTPS through CloudFront is on (it is "
        "unless DEBUG=true or CLOUDFRONT_ENABLED=false)."
    )
# A CloudFront-compatible endpoint (the local stand-in, edgelocal); empty means real AWS.
CLOUDFRONT_ENDPOINT_URL = env_str("CLOUDFRONT_ENDPOINT_URL", "")
# The multi-tenant distribution's parameter that carries the workspace id (deploy/edge.yaml).
CLOUDFRONT_TENANT_PARAMETER = env_str("CLOUDFRONT_TENANT_PARAMETER", "workspace_id")
CLOUDFRONT_CONNECT_TIMEOUT = env_float("CLOUDFRONT_CONNECT_TIMEOUT", 3.0)
CLOUDFRONT_READ_TIMEOUT = env_float("CLOUDFRONT_READ_TIMEOUT", 10.0)
# botocore's attempts per call (first try included, throttling retried); the steps retry beyond that.
CLOUDFRONT_MAX_ATTEMPTS = env_int("CLOUDFRONT_MAX_ATTEMPTS", 3)
# A pending certificate is asked about after base, 2×base, 4×base … seconds, at most max apart.
CLOUDFRONT_POLL_BASE_SECONDS = env_float("CLOUDFRONT_POLL_BASE_SECONDS", 5.0)
CLOUDFRONT_POLL_MAX_SECONDS = env_float("CLOUDFRONT_POLL_MAX_SECONDS", 300.0)
# A failed step waits base * 2^(attempts-1) seconds (jittered), at most the max.
CLOUDFRONT_RETRY_BASE_SECONDS = env_float("CLOUDFRONT_RETRY_BASE_SECONDS", 5.0)
CLOUDFRONT_RETRY_MAX_SECONDS = env_float("CLOUDFRONT_RETRY_MAX_SECONDS", 900.0)
# An issued certificate is looked at again this often (expired, revoked, inactive show up there).
CLOUDFRONT_CERTIFICATE_RECHECK = env_float("CLOUDFRONT_CERTIFICATE_RECHECK", 86400.0)
# A domain still without HTTPS after this long fails (CloudFront times a validation out after 72 h itself).
CLOUDFRONT_PROVISIONING_GIVE_UP = env_float("CLOUDFRONT_PROVISIONING_GIVE_UP", 4 * 86400.0)
# How long a step holds its tenant: longer than its few calls, each bounded by the timeouts and attempts.
CLOUDFRONT_STEP_LEASE = env_float("CLOUDFRONT_STEP_LEASE", 300.0)
CLOUDFRONT_SWEEP_BATCH = env_int("CLOUDFRONT_SWEEP_BATCH", 200)

# --- DNS verification ---------------------------------------------------------

# Resolvers used to find a zone's name servers (comma-separated ip[:port]);
# empty means the system's. Tests and the local stack point both at devdns.
DNS_RESOLVERS = env_list("DNS_RESOLVERS", "")
# The port authoritative name servers are asked on (53 everywhere but loopback).
DNS_NAMESERVER_PORT = env_int("DNS_NAMESERVER_PORT", 53)
# Seconds per query to one server.
DNS_TIMEOUT = env_float("DNS_TIMEOUT", 2.0)
# Seconds one check may take in all: every query, retry, TCP fallback and hop
# for one hostname. A tenant's name servers may be slow on purpose; past this
# the check is `transient` (nothing changes) and is retried later.
DNS_CHECK_DEADLINE = env_float("DNS_CHECK_DEADLINE", 10.0)
# Name servers learned from DNS (NS records, glue) at private, loopback,
# link-local or metadata addresses are never asked unless this is on. Only the
# local stack and the tests turn it on: devdns listens on 127.0.0.1.
DNS_ALLOW_PRIVATE_NAMESERVERS = env_bool("DNS_ALLOW_PRIVATE_NAMESERVERS", False)
# When set, an apex domain's A/AAAA records must all be among these addresses.
EDGE_APEX_ADDRESSES = env_list("EDGE_APEX_ADDRESSES", "")
# Threads one batch of checks runs on; each mostly waits on the network.
DNS_CHECK_CONCURRENCY = env_int("DNS_CHECK_CONCURRENCY", 64)

# The check schedule, all in seconds. A pending domain is checked every
# DOMAIN_PENDING_FAST_INTERVAL for DOMAIN_PENDING_FAST_WINDOW after it was added
# (tenants usually publish the record right away), then at growing steps of
# DOMAIN_CHECK_BACKOFF (the last step repeats), and fails after
# DOMAIN_PENDING_GIVE_UP. A misconfigured domain follows the same steps from
# the moment it broke, until its grace period ends.
DOMAIN_PENDING_FAST_INTERVAL = env_int("DOMAIN_PENDING_FAST_INTERVAL", 15)
DOMAIN_PENDING_FAST_WINDOW = env_int("DOMAIN_PENDING_FAST_WINDOW", 10 * 60)
DOMAIN_CHECK_BACKOFF = env_int_list("DOMAIN_CHECK_BACKOFF", "60,120,300,600,1800,3600,14400")
DOMAIN_PENDING_GIVE_UP = env_int("DOMAIN_PENDING_GIVE_UP", 7 * 24 * 3600)
# Active domains are re-checked this often, give or take the jitter, so a
# fleet added at once does not stay in lock-step.
DOMAIN_ACTIVE_RECHECK_INTERVAL = env_int("DOMAIN_ACTIVE_RECHECK_INTERVAL", 6 * 3600)
DOMAIN_ACTIVE_RECHECK_JITTER = env_int("DOMAIN_ACTIVE_RECHECK_JITTER", 30 * 60)
# How long a misconfigured domain keeps being served before it fails.
DOMAIN_GRACE_PERIOD = env_int("DOMAIN_GRACE_PERIOD", 72 * 3600)
# A transient DNS answer is retried after this long (sooner if the schedule says so).
DOMAIN_TRANSIENT_RETRY = env_int("DOMAIN_TRANSIENT_RETRY", 60)
# "Check now" runs at most once per this many seconds per domain.
DOMAIN_MANUAL_CHECK_INTERVAL = env_int("DOMAIN_MANUAL_CHECK_INTERVAL", 10)
# "Check now" is queued for a worker; the web UI waits at most this many
# seconds for its result before showing the page, which then shows it live.
DOMAIN_CHECK_NOW_WAIT = env_float("DOMAIN_CHECK_NOW_WAIT", 2.0)
# The dispatcher runs this often, claims at most DOMAIN_CHECK_BATCH_SIZE domains
# per batch task and DOMAIN_CHECK_MAX_BATCHES batches per run. A claim lasts
# DOMAIN_CHECK_CLAIM_LEASE, long enough to wait in the queue and be checked; a
# worker that dies only delays its domains by that much.
DOMAIN_CHECK_DISPATCH_PERIOD = env_float("DOMAIN_CHECK_DISPATCH_PERIOD", 5.0)
DOMAIN_CHECK_BATCH_SIZE = env_int("DOMAIN_CHECK_BATCH_SIZE", 250)
DOMAIN_CHECK_MAX_BATCHES = env_int("DOMAIN_CHECK_MAX_BATCHES", 20)
DOMAIN_CHECK_CLAIM_LEASE = env_int("DOMAIN_CHECK_CLAIM_LEASE", 120)
# A claim must outlast the longest batch (every check ends within
# DNS_CHECK_DEADLINE, DNS_CHECK_CONCURRENCY at a time), or a domain whose
# claim ran out could be claimed and checked again while its check still runs.
_LONGEST_BATCH = DNS_CHECK_DEADLINE * math.ceil(DOMAIN_CHECK_BATCH_SIZE / max(DNS_CHECK_CONCURRENCY, 1))
if DOMAIN_CHECK_CLAIM_LEASE <= _LONGEST_BATCH:
    raise RuntimeError(
        f"DOMAIN_CHECK_CLAIM_LEASE ({DOMAIN_CHECK_CLAIM_LEASE} s) must be longer than the longest batch of checks: "
        f"DNS_CHECK_DEADLINE ({DNS_CHECK_DEADLINE:g} s) × ceil(DOMAIN_CHECK_BATCH_SIZE ({DOMAIN_CHECK_BATCH_SIZE}) / "
        f"DNS_CHECK_CONCURRENCY ({DNS_CHECK_CONCURRENCY})) = {_LONGEST_BATCH:g} s."
    )
# DomainCheck rows kept per domain (newest first); older ones are deleted.
DOMAIN_CHECKS_KEPT = env_int("DOMAIN_CHECKS_KEPT", 50)

# --- Celery -------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hang a web request that queues a task after
# commit; periodic sweeps pick up whatever could not be queued.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "max_retries": 1}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Save each task's last run at once, so /healthz can tell when beat last ticked.
CELERY_BEAT_SYNC_EVERY = 1
# Celery's own lines (task received, succeeded) go through LOGGING like every other line.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE

# --- Shared cache -------------------------------------------------------------

# The API's throttles count here, so a limit holds across every web process and
# machine: Redis (Django's RedisCache), the broker's server unless CACHE_URL
# names another. `locmem://` keeps it in one process (the tests do).
CACHE_URL = env_str("CACHE_URL", "") or REDIS_URL
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    _CACHE = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "portal",
        # A Redis that does not answer must not hold a request for long (throttles then let it through).
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
elif CACHE_URL == "locmem://":
    _CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
else:
    raise ImproperEnvironment(f"CACHE_URL must be redis://…, rediss://…, unix://… or locmem://, not {CACHE_URL!r}")
CACHES = {"default": _CACHE}

# --- Webhooks (notifications/http.py) -----------------------------------------

# Receivers get https only in production; the address connected to must be
# public, loopback only when WEBHOOK_ALLOW_LOOPBACK is on (the local stack).
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", not DEBUG)
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 2.0)
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)
WEBHOOK_RESPONSE_MAX_BYTES = env_int("WEBHOOK_RESPONSE_MAX_BYTES", 4096)
# Extra CAs to trust for receivers (the local stack's); empty: the system's.
WEBHOOK_CA_BUNDLE = env_str("WEBHOOK_CA_BUNDLE", "")
# A worker claims up to WEBHOOK_BATCH_SIZE due deliveries in one statement and POSTs them
# WEBHOOK_CONCURRENCY at a time. Its lease outlasts the longest such batch (every POST ends within
# WEBHOOK_TIMEOUT) by WEBHOOK_LEASE_MARGIN; a killed worker's deliveries are claimed again after it.
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 100)
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 32)
WEBHOOK_LEASE_MARGIN = env_float("WEBHOOK_LEASE_MARGIN", 20.0)
# An endpoint failing this long (no 2xx since) is disabled.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5)
WEBHOOK_SWEEP_PERIOD = env_float("WEBHOOK_SWEEP_PERIOD", 5.0)

# --- E-mail (notifications/email.py, sent by the worker) -----------------------

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "VE.AI <no-reply@localhost>")
# Where links in e-mails point (the portal's own address).
PORTAL_URL = env_str("PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")

# --- API ----------------------------------------------------------------------

# Integrations use workspace API keys (Bearer); signed-in people also use their
# session (with CSRF). Throttles are per API key (per user for sessions).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workspaces.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["domains.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "domains.api.throttles.ApiRateThrottle",
        "domains.api.throttles.ApiWriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api": env_str("API_THROTTLE_RATE", "600/min"),
        "api_writes": env_str("API_WRITE_THROTTLE_RATE", "60/min"),
    },
    "EXCEPTION_HANDLER": "domains.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VE.AI custom domains API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Two fields are named status: a domain's and its HTTPS certificate's (CloudFront's values).
    "ENUM_NAME_OVERRIDES": {
        "DomainStatusEnum": "domains.models.DomainStatus",
        "CertificateStatusEnum": "domains.cdn.states.CertificateStatus",
    },
    "DESCRIPTION": (
        "Connect custom domains to a VE.AI workspace.\n\n"
        "**Authentication.** Send a workspace API key as `Authorization: Bearer vek_...` "
        "(owners and admins create keys on the portal's API keys page). A key acts as the person "
        "who created it, with their current role, in the key's one workspace. Signed-in people "
        "may also use their session (unsafe methods need the `X-CSRFToken` header); they choose "
        "the workspace with the `workspace` query parameter or the `X-Workspace` header (its "
        "id, `ws_...`, shown on the portal's Workspace page), and otherwise act in their first workspace by name.\n\n"
        '**Errors** always have the shape `{"error": {"code", "message", "fields"?, '
        '"retry_after"?}}`.\n\n'
        "**Idempotency.** `POST /api/v1/domains/` accepts an `Idempotency-Key` header: a repeat "
        "with the same key and body within 24 hours returns the first response again."
    ),
}

# --- Health -------------------------------------------------------------------

# /healthz answers everyone with ok/fail only; a probe sending
# `Authorization: Bearer <HEALTHZ_TOKEN>` (or support staff signed in) also gets
# each dependency's details. Empty: only staff see them.
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")

# --- Logging ------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {"()": "portal.logging.KeyValueFormatter"},
    },
    "filters": {"calm": {"()": "portal.logging.CalmFilter"}},
    "handlers": {
        # Routine no-ops at DEBUG, an expected 403 as one line (portal.logging.CalmFilter).
        "console": {"class": "logging.StreamHandler", "formatter": "keyvalue", "filters": ["calm"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
    },
}

# --- Periodic schedules (all in one place; beat stores them in the database) ---

# Expiry is "expire_seconds": django-celery-beat's scheduler ignores Celery's "expires" option.
CELERY_BEAT_SCHEDULE: dict = {}
# The edge outbox: re-deliver what the after-commit task could not; repair drift.
EDGE_SWEEP_PERIOD = env_float("EDGE_SWEEP_PERIOD", 30.0)
EDGE_RECONCILE_PERIOD = env_float("EDGE_RECONCILE_PERIOD", 3600.0)
CELERY_BEAT_SCHEDULE["domains-edge-sweep"] = {
    "task": "domains.edge_sweep",
    "schedule": EDGE_SWEEP_PERIOD,
    "options": {"expire_seconds": EDGE_SWEEP_PERIOD},
}
# The edge's shards: a change queues their build itself; this catches failed or debounced ones.
EDGE_SHARD_SWEEP_PERIOD = env_float("EDGE_SHARD_SWEEP_PERIOD", 5.0)
CELERY_BEAT_SCHEDULE["domains-edge-shards-build"] = {
    "task": "domains.edge_shards_build",
    "schedule": EDGE_SHARD_SWEEP_PERIOD,
    "options": {"expire_seconds": EDGE_SHARD_SWEEP_PERIOD},
}
CELERY_BEAT_SCHEDULE["domains-edge-reconcile"] = {
    "task": "domains.edge_reconcile",
    "schedule": EDGE_RECONCILE_PERIOD,
    "options": {"expire_seconds": EDGE_RECONCILE_PERIOD},
}
# Domain checks: claim what is due and hand it to workers in batches.
CELERY_BEAT_SCHEDULE["domains-dispatch-due-checks"] = {
    "task": "domains.dispatch_due_checks",
    "schedule": DOMAIN_CHECK_DISPATCH_PERIOD,
    # A run that waited longer than a period is superseded by the next one.
    "options": {"expire_seconds": DOMAIN_CHECK_DISPATCH_PERIOD},
}
# CloudFront tenants: certificate polls, retries, and steps a crash or a lost task left unfinished.
CLOUDFRONT_SWEEP_PERIOD = env_float("CLOUDFRONT_SWEEP_PERIOD", 10.0)
CELERY_BEAT_SCHEDULE["domains-cdn-sweep"] = {
    "task": "domains.cdn_sweep",
    "schedule": CLOUDFRONT_SWEEP_PERIOD,
    "options": {"expire_seconds": CLOUDFRONT_SWEEP_PERIOD},
}
# Domain events (the notification outbox) are kept EVENT_RETENTION_DAYS; drop older ones hourly.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 30)
CELERY_BEAT_SCHEDULE["notifications-events-purge"] = {
    "task": "notifications.events_purge",
    "schedule": 3600.0,
    "options": {"expire_seconds": 3600.0},
}
# Webhook deliveries that are due (retries, lost tasks, killed workers): the sweep claims and sends them in
# batches for at most one period; overlapping sweeps (on any worker) split the backlog.
CELERY_BEAT_SCHEDULE["notifications-webhook-sweep"] = {
    "task": "notifications.webhook_sweep",
    "schedule": WEBHOOK_SWEEP_PERIOD,
    "options": {"expire_seconds": WEBHOOK_SWEEP_PERIOD},
}
# API idempotency records are kept 24 h; drop the expired ones hourly.
CELERY_BEAT_SCHEDULE["workspaces-purge-idempotency-records"] = {
    "task": "workspaces.purge_idempotency_records",
    "schedule": 3600.0,
}
# Delivered edge outbox rows are history once a newer row of their hostname exists.
EDGE_OUTBOX_RETENTION_DAYS = env_float("EDGE_OUTBOX_RETENTION_DAYS", 30.0)
CELERY_BEAT_SCHEDULE["domains-edge-outbox-prune"] = {
    "task": "domains.edge_outbox_prune",
    "schedule": 86400.0,
}
