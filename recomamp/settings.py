"""RecomAMP settings, all read from the environment.

With nothing set the product runs embedded: SQLite, a filesystem Celery broker and a local
AMC simulator. Production sets DATABASE_URL, CELERY_BROKER_URL and the AMC variables.
"""

import os
import sys
from pathlib import Path

import dj_database_url

from recomamp.amc.downloads import AMC_DOWNLOAD_HOSTS
from recomamp.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RECOMAMP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# Embedded mode: the local demo (`make run` sets RECOMAMP_EMBEDDED=1) and the test suite, with
# processes the tests start. Only there (or with DEBUG on) may the development keys be used.
EMBEDDED = env_bool("RECOMAMP_EMBEDDED") or "pytest" in sys.modules
if EMBEDDED:
    os.environ.setdefault("RECOMAMP_EMBEDDED", "1")
DEVELOPMENT_SECRET_KEY = "recomamp-embedded-development-key-not-for-production"
DEVELOPMENT_FERNET_KEY = "wNVS1GeXvU-CVYatIG-Ca0C6IslnQT6UjMk3VKksKSU="
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS (production defaults; the embedded mode serves plain http on loopback).
_secure_default = not (DEBUG or EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=_secure_default)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", default=_secure_default)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", default=_secure_default)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_secure_default
)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=_secure_default)
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" (header, value).
if os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = tuple(env_list("DJANGO_SECURE_PROXY_SSL_HEADER"))[:2]
# Probes and the metrics scraper talk plain http inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "instances",
    "reports",
    "schedules",
    "backfills",
    "dashboards",
    "operations",
    "django_prometheus",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "recomamp.api.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "recomamp.urls"

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

WSGI_APPLICATION = "recomamp.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'recomamp.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # A kept connection is checked before each request or task reuses it: after a database
        # restart the first one gets a new connection instead of an error.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing, and use WAL so
    # readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# Query counts and latencies per database for /metrics: django-prometheus wraps the backend.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends.", 1
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("RECOMAMP_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    # Results are stored through Django storage: local files by default; an S3-compatible
    # backend (django-storages) can be configured by RECOMAMP_RESULTS_STORAGE.
    "default": {
        "BACKEND": os.environ.get(
            "RECOMAMP_RESULTS_STORAGE", "django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "admin:login"

# The cache holds login throttles: shared by every process (Redis in production; a directory
# under var/ for the embedded default, which runs several processes on one machine).
RECOMAMP_CACHE_URL = os.environ.get("RECOMAMP_CACHE_URL", "")
if RECOMAMP_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": RECOMAMP_CACHE_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "recomamp.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "recomamp.api.CappedSearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "recomamp.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "recomamp.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "recomamp.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RecomAMP API",
    "DESCRIPTION": "Reports, schedules, backfills and dashboards over Amazon Marketing Cloud.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own static files, not a CDN (none is reachable offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "reports.models.ExecutionStatus",
        "CollectionStatusEnum": "backfills.models.BackfillStatus",
        "ExportStatusEnum": "dashboards.models.ExportStatus",
        "DeliveryChannelEnum": "schedules.models.DeliveryChannel",
        "DashboardTypeEnum": "reports.models.DashboardType",
    },
}

# --- Credentials at rest -------------------------------------------------------------------
# Comma-separated Fernet keys, newest first (MultiFernet): encrypt with the first, decrypt with
# any, so a key can be rotated without re-encrypting everything at once.
RECOMAMP_FERNET_KEYS = env_list("RECOMAMP_FERNET_KEYS", DEVELOPMENT_FERNET_KEY)

if not (DEBUG or EMBEDDED or env_bool("RECOMAMP_KEYLESS_COMMAND")):
    # A production process never starts on the keys published in this repository (manage.py
    # sets RECOMAMP_KEYLESS_COMMAND for schema commands, which use no key).
    from django.core.exceptions import ImproperlyConfigured

    if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it (50+ random characters) for production, or "
            "RECOMAMP_EMBEDDED=1 for the local demo."
        )
    if DEVELOPMENT_FERNET_KEY in RECOMAMP_FERNET_KEYS:
        raise ImproperlyConfigured(
            "RECOMAMP_FERNET_KEYS is not set (or holds the development key): set your own "
            "keys for production, or RECOMAMP_EMBEDDED=1 for the local demo."
        )

# --- AMC -----------------------------------------------------------------------------------
AMC_CLIENT_ID = os.environ.get("AMC_CLIENT_ID", "amzn1.application-oa2-client.recomamp-demo")
AMC_CLIENT_SECRET = os.environ.get("AMC_CLIENT_SECRET", "recomamp-demo-secret")
AMC_TOKEN_URL = os.environ.get("AMC_TOKEN_URL", "https://api.amazon.com/auth/o2/token")
AMC_SIMULATOR_URL = os.environ.get("AMC_SIMULATOR_URL", "")
# --- AMC endpoint allowlist ----------------------------------------------------------------
# Hosts an account's `api_base_url` and `token_url` may name (https, default port only): the
# Amazon Ads API and Login with Amazon hosts of each region (NA, EU, FE). The simulator's own
# origin (AMC_SIMULATOR_URL, http on loopback in the embedded default) is allowed besides.
# Checked when an account is saved and again before every outgoing call (reports.amc).
AMC_ALLOWED_HOSTS = env_list(
    "AMC_ALLOWED_HOSTS",
    "advertising-api.amazon.com,advertising-api-eu.amazon.com,advertising-api-fe.amazon.com,"
    "api.amazon.com,api.amazon.co.uk,api.amazon.co.jp",
)
# AMC's data rules, in one place (see AMC.md).
AMC_DATA_LAG_DAYS = int(os.environ.get("AMC_DATA_LAG_DAYS", "14"))
AMC_RETENTION_DAYS = int(os.environ.get("AMC_RETENTION_DAYS", "425"))
AMC_MAX_LOOKBACK_DAYS = 365
AMC_DOWNLOAD_MAX_BYTES = int(os.environ.get("AMC_DOWNLOAD_MAX_BYTES", str(512 * 1024 * 1024)))
# Result downloads: https to these hosts only (patterns; AMC's S3 hosts by default), plus the
# simulator's own origin when AMC_SIMULATOR_URL is set; at most this long per file.
AMC_DOWNLOAD_ALLOWED_HOSTS = env_list("AMC_DOWNLOAD_ALLOWED_HOSTS") or list(AMC_DOWNLOAD_HOSTS)
AMC_DOWNLOAD_MAX_SECONDS = float(os.environ.get("AMC_DOWNLOAD_MAX_SECONDS", "900"))

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport with atomic writes (see recomamp/broker.py).
    CELERY_BROKER_TRANSPORT = "recomamp.broker:Transport"
    # A host in the URL, or kombu warns "No hostname was supplied" on every connection.
    CELERY_BROKER_URL = "filesystem://localhost//"
    _queue_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control", "processed"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "control_folder": str(_queue_dir / "control"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
    }
else:
    # Polls are short countdowns; redelivery of a lost message is left to the sweeper, not to
    # the visibility timeout, which only has to be longer than any countdown we use.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Workers keep their database connection from one task to the next, as the web keeps it from
# one request to the next (CONN_MAX_AGE). Celery would otherwise close it around every task,
# and each task would start a new PostgreSQL backend, which costs the server more CPU than the
# task's own statements. recomamp/celery.py closes a connection a task left in doubt.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Renderers (WeasyPrint, PDFium, XlsxWriter) hold memory: their tasks go to a queue whose worker
# recycles its processes (--max-tasks-per-child, --max-memory-per-child; see scripts/run.sh).
CELERY_TASK_ROUTES = {
    "dashboards.exports.build_export": {"queue": "exports"},
    "schedules.deliver_scheduled_run": {"queue": "exports"},
}
# No task runs away: past the soft limit a step gets SoftTimeLimitExceeded (a failed attempt,
# retried by the engine); the hard limit kills the process (the sweeper repairs the phase).
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("RECOMAMP_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60

# One JSON object a line with RECOMAMP_LOG_FORMAT=json (production); readable text otherwise.
# Every line carries the execution/report/instance/schedule/backfill/task ids where known, and
# secrets are scrubbed whatever logger wrote them (recomamp/logs.py).
RECOMAMP_LOG_FORMAT = os.environ.get("RECOMAMP_LOG_FORMAT", "text")
LOGGING = logging_config(
    json_format=RECOMAMP_LOG_FORMAT == "json", level=os.environ.get("LOG_LEVEL", "INFO")
)

# --- Execution engine ----------------------------------------------------------------------
# Seconds: first poll delay and its ceiling (exponential backoff between them).
RECOMAMP_POLL_MIN_SECONDS = float(os.environ.get("RECOMAMP_POLL_MIN_SECONDS", "2"))
RECOMAMP_POLL_MAX_SECONDS = float(os.environ.get("RECOMAMP_POLL_MAX_SECONDS", "60"))
# A worker owns an execution (and renews its instance slot) for this long between polls; a
# worker that dies is noticed by the sweeper once it lapses.
RECOMAMP_LEASE_SECONDS = float(os.environ.get("RECOMAMP_LEASE_SECONDS", "90"))
RECOMAMP_SWEEP_SECONDS = float(os.environ.get("RECOMAMP_SWEEP_SECONDS", "10"))
RECOMAMP_MAX_TRANSIENT_RETRIES = int(os.environ.get("RECOMAMP_MAX_TRANSIENT_RETRIES", "8"))
# Rows of a result loaded into the database for dashboards (the CSV keeps them all).
RECOMAMP_MAX_LOADED_ROWS = int(os.environ.get("RECOMAMP_MAX_LOADED_ROWS", "200000"))
# Runs started by people or the API, per minute (429 with Retry-After beyond).
RECOMAMP_RUNS_PER_USER_PER_MINUTE = int(os.environ.get("RECOMAMP_RUNS_PER_USER_PER_MINUTE", "30"))
RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE = int(
    os.environ.get("RECOMAMP_RUNS_PER_INSTANCE_PER_MINUTE", "60")
)
# Dashboards: a refresh waits this long after new results, so the runs that end meanwhile (a
# backfill's segments) are taken in by one refresh.
RECOMAMP_DASHBOARD_REFRESH_DELAY_SECONDS = float(
    os.environ.get("RECOMAMP_DASHBOARD_REFRESH_DELAY_SECONDS", "5")
)
# Password guessing: attempts at the token endpoint and failed admin sign-ins.
RECOMAMP_LOGIN_RATE_PER_IP = os.environ.get("RECOMAMP_LOGIN_RATE_PER_IP", "30/minute")
RECOMAMP_LOGIN_RATE_PER_USERNAME = os.environ.get("RECOMAMP_LOGIN_RATE_PER_USERNAME", "5/minute")
# First automatic retry of a failed backfill segment, doubling up to 15 minutes.
#: The shortest interval between two runs of one schedule (a custom cron firing more often
#: is refused with a 400 naming cron_expression).
RECOMAMP_SCHEDULE_MIN_INTERVAL_MINUTES = float(
    os.environ.get("RECOMAMP_SCHEDULE_MIN_INTERVAL_MINUTES", "5")
)
RECOMAMP_BACKFILL_RETRY_SECONDS = float(os.environ.get("RECOMAMP_BACKFILL_RETRY_SECONDS", "30"))

# --- Exports and scheduled delivery --------------------------------------------------------
# Export files are served until they expire; the hourly sweeper deletes them after.
RECOMAMP_EXPORT_TTL_HOURS = float(os.environ.get("RECOMAMP_EXPORT_TTL_HOURS", "24"))
RECOMAMP_EXPORT_STUCK_MINUTES = float(os.environ.get("RECOMAMP_EXPORT_STUCK_MINUTES", "30"))
# Rows per table in a PDF (46 pages take ~7 s); CSV and Excel carry every row.
RECOMAMP_EXPORT_PDF_MAX_TABLE_ROWS = int(
    os.environ.get("RECOMAMP_EXPORT_PDF_MAX_TABLE_ROWS", "200")
)
# Links in emails and webhooks point here.
RECOMAMP_PUBLIC_URL = os.environ.get("RECOMAMP_PUBLIC_URL", "http://127.0.0.1:8000")
# The embedded default prints emails to the worker's log; production sets SMTP.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "RecomAMP <reports@localhost>")
# Webhooks go to https URLs only, except hosts listed here; an address that resolves to a
# private, loopback or link-local network is refused unless explicitly allowed (tests, a
# receiver on the same machine).
RECOMAMP_WEBHOOK_ALLOWED_HOSTS = env_list("RECOMAMP_WEBHOOK_ALLOWED_HOSTS")
RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool(
    "RECOMAMP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False
)
RECOMAMP_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("RECOMAMP_WEBHOOK_TIMEOUT_SECONDS", "10"))
#: Signs every webhook (X-RecomAMP-Signature, see recomamp/webhooks.py); unsigned when empty.
RECOMAMP_WEBHOOK_SECRET = os.environ.get("RECOMAMP_WEBHOOK_SECRET", "")

# --- Operations ----------------------------------------------------------------------------
# /metrics answers this bearer token; with none set, loopback addresses only.
RECOMAMP_METRICS_TOKEN = os.environ.get("RECOMAMP_METRICS_TOKEN", "")
# /readyz: seconds a check may take, and how old the dispatcher's and sweeper's last run may be.
RECOMAMP_READY_TIMEOUT = float(os.environ.get("RECOMAMP_READY_TIMEOUT", "2"))
RECOMAMP_READY_MAX_TICK_AGE_SECONDS = float(
    os.environ.get("RECOMAMP_READY_MAX_TICK_AGE_SECONDS", "300")
)
# Alerts: a schedule failing this many times in a row opens an incident (one alert, and one
# recovery message when it next succeeds). A run is stuck past this many times its report's
# usual duration.
RECOMAMP_ALERT_AFTER_FAILURES = int(os.environ.get("RECOMAMP_ALERT_AFTER_FAILURES", "3"))
RECOMAMP_STUCK_FACTOR = float(os.environ.get("RECOMAMP_STUCK_FACTOR", "3"))
