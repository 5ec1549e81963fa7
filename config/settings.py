"""All settings come from the environment (see README "Configuration" and .env.example).

Defaults run everything embedded, with no servers: SQLite in WAL mode under ``var/`` and a
Celery broker on the filesystem. Production sets ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
A value that cannot be parsed stops the process at start instead of being guessed at.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _strict_bool(name: str, default: bool) -> bool:
    # django-environ reads any unknown word as False; a typo in DEBUG must not pass silently.
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _strict_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def _secret_key() -> str:
    # Never a constant in the repository: generated once per installation into var/.
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _strict_bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Installed only because its abstract key model lives in a models module that also
    # declares a concrete model; our key model is core.ApiKey.
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "csp",
    "import_export",  # admin exports (maintenance/admin_exports.py)
    "axes",
    "drf_spectacular_sidecar",
    # The audit trail's model base and admin helpers; our records are core.AuditRecord.
    "auditlog",
    "core",
    "notifications",
    # maintenance before scheduling: apps register their notification events in this order,
    # and a channel's "Must be one of" message has always listed task events first.
    "maintenance",
    "maintenance.optimisation",
    "scheduling",
]

MIDDLEWARE = [
    # Outermost, so every response (errors and redirects too) carries X-Request-ID and is
    # counted and timed; see "Operations" below.
    "core.context.RequestIdMiddleware",
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.api.middleware.RequestLimitsMiddleware",
    "core.api.middleware.ApiNoStoreMiddleware",
    "core.api.middleware.PolicyCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (it reads the admin's language choice), before CommonMiddleware (which
    # may redirect): picks the language from the choice cookie or Accept-Language, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Names the caller (session user or API key) in the audit records of this request.
    "core.audit.AuditActorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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


def _database() -> dict:
    default_url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    url = env.str("DATABASE_URL", default=default_url)
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        # Web, worker and beat share one file: WAL lets readers run beside the writer,
        # IMMEDIATE takes the write lock at BEGIN (no deadlock on lock upgrade), and the
        # busy timeout makes a writer wait instead of failing with "database is locked".
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Kept open between requests like PostgreSQL's: reopening the file per request
        # (the default, 0) re-runs the pragmas and re-reads the schema every time.
        config.setdefault("CONN_MAX_AGE", _strict_int("DATABASE_CONN_MAX_AGE", 60))
        # Tests get a file, not SQLite's default in-memory database, so the Celery worker and
        # beat processes that the integration tests start can share it. One per test run.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    elif engine.endswith("postgresql"):
        config.setdefault("CONN_MAX_AGE", _strict_int("DATABASE_CONN_MAX_AGE", 60))
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(f"DATABASE_URL must be sqlite:// or postgres://, got {url!r}")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The admin and v1's messages in these languages; a client gets Spanish only by asking for it
# (Accept-Language, or the admin's language choice). Catalogues: locale/, see "Languages".
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Instants are stored and served in UTC; objects carry their own IANA zone for recurrence.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API -----------------------------------------------------------------------------------

# The audit trail (core.audit): django-auditlog's entry, swapped for ours, which also names
# API keys and jobs; changes are stored as JSON values, not their text.
AUDITLOG_LOGENTRY_MODEL = "core.AuditRecord"
AUDITLOG_STORE_JSON_CHANGES = True
# The library's migrations create its own (swapped-out, never used) table, whose foreign keys
# to users and content types would only stand in the way (PostgreSQL refuses to TRUNCATE
# tables another table references); without them it has no table at all.
MIGRATION_MODULES = {"auditlog": None}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.BearerApiKeyAuthentication",
        "core.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ApiKeyOrStaff"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.AnyContentTypeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ServiceAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.envelope_exception_handler",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": None,
    # How many proxies in front of us append to X-Forwarded-For: the client address that the
    # failed-authentication throttle counts is the one the outermost trusted proxy saw.
    "NUM_PROXIES": _strict_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Maintenance scheduling service",
    "DESCRIPTION": (
        "API v1: preventive-maintenance plans, tasks, counters and compliance. "
        "API v4: maintenance windows, wire-compatible with Kener's v4 maintenances API. "
        "Authenticate with `Authorization: Bearer <api key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar): no CDN, so the
    # docs work offline and under the Content-Security-Policy below.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Scheduling ------------------------------------------------------------------------------

# Events exist for every occurrence that starts within this many days.
MAINTENANCE_EVENT_HORIZON_DAYS = _strict_int("MAINTENANCE_EVENT_HORIZON_DAYS", 90, minimum=1)
# An event is READY this many minutes before it starts.
MAINTENANCE_READY_LEAD_MINUTES = _strict_int("MAINTENANCE_READY_LEAD_MINUTES", 5, minimum=0)
# The public maintenance page /status/ and its feed /status/events.ics (no key needed).
PUBLIC_MAINTENANCE_PAGE = _strict_bool("PUBLIC_MAINTENANCE_PAGE", False)

# --- Scheduled reports (maintenance.reports) --------------------------------------------------

# The address people and webhooks reach this service at: report download links start with it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000")
# A report link (signed token in ?token=) opens its file for this many days.
REPORTS_LINK_MAX_AGE_DAYS = _strict_int("REPORTS_LINK_MAX_AGE_DAYS", 7, minimum=1)
# How often beat looks for schedules whose period has ended.
REPORTS_TICK_SECONDS = _strict_int("REPORTS_TICK_SECONDS", 60, minimum=1)
# Rows per metric a report lists (counts are always complete); bounds a report's work.
REPORTS_MAX_ROWS = _strict_int("REPORTS_MAX_ROWS", 5000, minimum=1)

# --- Celery ----------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "memory"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be filesystem://, redis:// or rediss://, got {CELERY_BROKER_URL!r}"
    )
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder for both directions: the web process, the worker and beat on one machine
    # exchange messages as files, so the embedded default needs no broker server.
    # CELERY_BROKER_DIR lets a test (or a second checkout) use a private folder.
    _broker_dir = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange tables for worker control (fanout); kombu's default is ./control.
        "control_folder": str(_broker_dir / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message a worker took but never acknowledged (the worker died) goes back to the
        # queue after this long. It must exceed the longest task (the time limits below), or a
        # slow task runs twice; twice is harmless here (the database guards every write), only
        # wasteful. Tests set it low to watch a redelivery happen.
        "visibility_timeout": _strict_int("CELERY_VISIBILITY_TIMEOUT", 900, minimum=1),
        # Sweep for such messages every 10 s instead of kombu's default of about 100 s.
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }

CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = _strict_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Acknowledge after the task ran, so a worker that dies mid-task leaves its message to be
# delivered again. Every task is safe to run twice: the database decides (unique occurrence
# keys, row locks, compare-and-set updates), never the broker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A pool process killed under a task (OOM, segfault) republishes it as a retry, so the retry
# counter caps how often one message can take a worker down (see core.jobs.DatabaseTask).
CELERY_TASK_RETRY_ON_WORKER_LOST = True
# Each worker process reserves one message at a time: a long job never holds others hostage
# and fan-out work spreads over every worker.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With late acks, a task still running when the broker connection drops is redelivered
# anyway; cancelling it avoids two copies racing (Celery's recommended setting).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Workers keep their database connection between tasks, as web workers do between requests:
# config.celery closes it around each task only when broken or older than
# DATABASE_CONN_MAX_AGE. Celery's fixup would otherwise close it around every task (a new
# PostgreSQL connection per message); with this it closes it only every this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a broker restart is waited out, not fatal
# No task may run longer than this; the visibility timeout above stays longer.
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_TIME_LIMIT = 600
# How many times a message may come back after a crash, or retry a database error, before it
# is dropped and recorded as failed (the next tick finds the work again if it is still due).
SCHEDULER_TASK_MAX_RETRIES = _strict_int("SCHEDULER_TASK_MAX_RETRIES", 5, minimum=0)
# How long a work order's maintenance window stays open at most when its task is never
# completed or cancelled (maintenance.workorders); closing the task ends it sooner.
WORKORDER_WINDOW_MAX_HOURS = _strict_int("WORKORDER_WINDOW_MAX_HOURS", 168, minimum=1)

# The schedule is the registry of periodic jobs (core.jobs, one declaration per job in each
# app's tasks.py). The scheduler below copies it into django-celery-beat's tables when beat
# starts (so operators see the jobs, with their last run, in the admin) and runs them from
# there. Each entry expires before its next tick: a tick that waited too long in the queue is
# dropped instead of piling up behind the next one. Running a job twice (two beats by
# mistake, or `run_scheduler_tick` beside beat) is harmless; see README "Scheduler".
CELERY_BEAT_SCHEDULER = "core.jobs:RegistryScheduler"
# Seconds between two runs of the frequent jobs (event statuses, due plans); the spec needs a
# transition stored within a minute and a due plan executed within one.
SCHEDULER_TICK_SECONDS = _strict_int("SCHEDULER_TICK_SECONDS", 30, minimum=1)
# Seconds between two extensions of the event horizon (new events appear 90 days ahead; the
# API already generates them on every write, so this only keeps the horizon rolling).
SCHEDULER_HORIZON_SECONDS = _strict_int("SCHEDULER_HORIZON_SECONDS", 600, minimum=1)
# Seconds between two sweeps of the event horizon: each active window without an upcoming
# event is expanded again, so events removed behind the services' back come back (the
# 10-minute pass reads only how far each window's events go, so as to stay an index probe).
SCHEDULER_HORIZON_SWEEP_SECONDS = _strict_int("SCHEDULER_HORIZON_SWEEP_SECONDS", 3600, minimum=60)
# At most this many plans are dispatched per tick; the rest wait for the next one.
SCHEDULER_PLAN_BATCH = _strict_int("SCHEDULER_PLAN_BATCH", 2000, minimum=1)
# Plan ids per `execute_plans` message: a worker creates a chunk's tasks in one transaction.
# Smaller spreads a tick over more workers; larger costs fewer messages and statements.
SCHEDULER_PLAN_CHUNK = _strict_int("SCHEDULER_PLAN_CHUNK", 100, minimum=1)
# A horizon pass with more windows to extend than this is shared out to the workers in id
# ranges of this many windows.
SCHEDULER_HORIZON_BATCH = _strict_int("SCHEDULER_HORIZON_BATCH", 2000, minimum=1)
# GET /healthz calls the scheduler stale when no periodic job ran for this long.
SCHEDULER_STALE_AFTER = timedelta(seconds=_strict_int("SCHEDULER_STALE_SECONDS", 120, minimum=1))

HEALTHZ_BROKER_TIMEOUT = timedelta(seconds=2)

# --- Notifications ---------------------------------------------------------------------------

# Where email goes: smtp://user:pass@host:587 (smtps:// or smtp+tls:// for STARTTLS,
# smtp+ssl:// for implicit TLS) in production; the default prints mails to the console.
try:
    _email = env.email_url("EMAIL_URL", default="consolemail://")
except Exception as exc:
    raise ImproperlyConfigured(f"EMAIL_URL is not a valid email URL: {exc}") from exc
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="maintenance@localhost")
# Seconds one attempt may take (webhook, Apprise, SMTP) before it counts as a temporary failure.
NOTIFICATIONS_HTTP_TIMEOUT = _strict_int("NOTIFICATIONS_HTTP_TIMEOUT", 10, minimum=1)
EMAIL_TIMEOUT = NOTIFICATIONS_HTTP_TIMEOUT
# Webhook and Apprise targets must be globally routable (no loopback, private, link-local,
# CGNAT, unique-local or multicast address): a channel must not reach the internal network.
# True lets on-premises receivers on private addresses in; cloud metadata stays refused.
NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = _strict_bool("NOTIFICATIONS_ALLOW_PRIVATE_TARGETS", False)
# Temporary failures are retried after base·2^(n-1) seconds (capped, with jitter) until a
# delivery has had this many attempts; then it is failed. The defaults give up within an hour.
NOTIFICATIONS_MAX_ATTEMPTS = _strict_int("NOTIFICATIONS_MAX_ATTEMPTS", 8, minimum=1)
NOTIFICATIONS_RETRY_BASE_SECONDS = _strict_int("NOTIFICATIONS_RETRY_BASE_SECONDS", 30, minimum=0)
NOTIFICATIONS_RETRY_MAX_SECONDS = _strict_int("NOTIFICATIONS_RETRY_MAX_SECONDS", 3600, minimum=0)

# --- Security ----------------------------------------------------------------------------------
# README "Security" describes each guard; the settings below are its switches.

# One switch for a deployment behind TLS (the proxy terminates it and says so in
# X-Forwarded-Proto): redirect http to https, HSTS, cookies only over https.
HTTPS = _strict_bool("HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # /healthz is probed over plain http by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = _strict_int("HSTS_SECONDS", 31_536_000)  # one year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _strict_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _strict_bool("HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
        # W021 asks for preload, which is a commitment to a browser list, not a setting:
        # an operator opts in with HSTS_PRELOAD=true.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request bodies larger than this are answered 413 on every route (core.api.middleware).
MAX_REQUEST_BYTES = _strict_int("MAX_REQUEST_BYTES", 1_048_576, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

# Counters (throttles, admin lockout) live in Django's cache, which must be shared by every
# web process: CACHE_URL (redis://host:6379/3 in production), else the database's cache table
# (created by core's migrations), which every process on every machine shares too.
try:
    _cache = env.cache_url("CACHE_URL", default="dbcache://django_cache")
except Exception as exc:
    raise ImproperlyConfigured(f"CACHE_URL is not a valid cache URL: {exc}") from exc
# Rendered public pages and feed bodies (`/status/`) stay in each process's memory: they are
# at most seconds old, and a crowd on the status page must not turn into database queries.
CACHES = {
    "default": _cache,
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
}

# Failed authentications (a bad or unknown API key) per client address; past the rate such
# requests get 429 with Retry-After. Valid keys are never counted nor slowed. Empty: no limit.
AUTH_FAILURE_RATE = env.str("AUTH_FAILURE_RATE", default="20/min") or None
# Requests per API key, e.g. "600/min"; off by default, so meter ingestion is never throttled.
API_KEY_RATE = env.str("API_KEY_RATE", default="") or None

# Admin login lockout (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is locked out for ADMIN_LOCKOUT_MINUTES (429).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = _strict_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_strict_int("ADMIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The same client address as the API's throttle (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "core.api.throttling.client_address"
# What a locked-out login gets (429): django-axes's own words, marked here so that our catalogue
# translates them (axes ships no Spanish). Lazy: worded in the language of the login page.
AXES_COOLOFF_MESSAGE = gettext_lazy(
    "Account locked: too many login attempts. Please try again later."
)
# No "AXES: BEGIN version …" banner in every process's log; lockouts are still logged.
AXES_VERBOSE = False

# Content-Security-Policy (django-csp) on every page: the admin and the API docs load scripts,
# styles and images from our own origin only. Swagger UI and Redoc build their pages with
# inline styles, and Redoc runs its search in a blob: worker.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Operations: logs, metrics, retention (README "Operating it") ---------------------------

# `plain` (one readable line per record) or `json` (one JSON object per line, with the request
# id, the caller and the ids of the objects involved as fields; for log shippers).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.context.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# GET /metrics answers 404 until this is set; then it wants `Authorization: Bearer <token>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where each web process writes its request metrics for a scrape to sum (prometheus-client's
# multiprocess mode). One folder per machine, shared by its web processes; the web server
# empties it at start (gunicorn.conf.py). prometheus-client reads it from the environment
# when it is first imported, which is after the settings in every entry point.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "prometheus"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR

# Retention: days to keep each kind of record before the `prune-expired-records` job deletes
# it; 0 keeps it forever. Plans, tasks and executions are never pruned (history, compliance).
RETENTION_DELIVERIES_SENT_DAYS = _strict_int("RETENTION_DELIVERIES_SENT_DAYS", 30)
RETENTION_DELIVERIES_FAILED_DAYS = _strict_int("RETENTION_DELIVERIES_FAILED_DAYS", 90)
RETENTION_EVENTS_COMPLETED_DAYS = _strict_int("RETENTION_EVENTS_COMPLETED_DAYS", 365)
RETENTION_EVENTS_CANCELLED_DAYS = _strict_int("RETENTION_EVENTS_CANCELLED_DAYS", 90)
# Alertmanager silence rows (notifications.Silence) once expired, after their window ended.
RETENTION_SILENCES_EXPIRED_DAYS = _strict_int("RETENTION_SILENCES_EXPIRED_DAYS", 90)
# Counter readings: all kept by default; past DAILY_AFTER days only each plan's last reading of
# each day (and every reset) is kept, past READINGS_DAYS none.
RETENTION_COUNTER_READINGS_DAYS = _strict_int("RETENTION_COUNTER_READINGS_DAYS", 0)
RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS = _strict_int(
    "RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS", 90
)
# Audit records (the audit trail registers itself as a prunable kind); forever by default.
RETENTION_AUDIT_DAYS = _strict_int("RETENTION_AUDIT_DAYS", 0)
# Scheduled reports and their files (their deliveries follow the deliveries' settings).
RETENTION_REPORTS_DAYS = _strict_int("RETENTION_REPORTS_DAYS", 365)
# Rows deleted per statement (each batch is its own short transaction), and the job's interval.
RETENTION_BATCH_SIZE = _strict_int("RETENTION_BATCH_SIZE", 1000, minimum=1)
RETENTION_PRUNE_SECONDS = _strict_int("RETENTION_PRUNE_SECONDS", 3600, minimum=60)
