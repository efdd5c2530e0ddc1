"""Huikuan settings: one module, every value from the environment.

With no environment at all the app runs on embedded defaults (SQLite under
var/, Celery on kombu's filesystem transport, email to the console), so that
`make run` needs no service. Production sets the variables in .env.example.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# Files of the embedded defaults (SQLite, the filesystem broker, media, beat's schedule).
VAR_DIR = Path(env.str("HUIKUAN_VAR_DIR", default=str(BASE_DIR / "var")))

# --- General -----------------------------------------------------------------

DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY when DJANGO_DEBUG is off.")
# Django's own deploy check (security.W009) only warns about a weak key; production refuses it.
if not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak for production: use at least 50 random characters "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]

BUSINESS_CALENDAR_COUNTRY = env.str("BUSINESS_CALENDAR_COUNTRY", default="CN")
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="CNY")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Apps and middleware -----------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_htmx",
    "django_filters",
    "simple_history",
    "csp",
    "anymail",
    "django_ratelimit",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "receivables",
    "contracts",
    "dunning",
    "dashboards",
    "statements",
    "portal",
    "integrations",
    "banking",
    "bills",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.PortalHeadersMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.middleware.NoStoreForSignedInPagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

# --- Database ----------------------------------------------------------------

# SQLite in WAL mode with IMMEDIATE transactions and a busy timeout lets the
# web server and a Celery worker write to the same file without "database is
# locked" errors.
_sqlite_path = VAR_DIR / "huikuan.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{_sqlite_path}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with the real parameter limit (core/db/sqlite3).
    DATABASES["default"]["ENGINE"] = "core.db.sqlite3"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiles the plans of our larger statements (the daily run's
    # candidates, the dashboards' aggregates) for seconds when they run in
    # milliseconds. Off for this application's sessions, added to any PGOPTIONS
    # (libpq takes the connection's `options` instead of the environment's).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's PostgreSQL backend with a faster array dumper (core/db/postgresql).
        DATABASES["default"]["ENGINE"] = "core.db.postgresql"
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _given = _options.get("options") or os.environ.get("PGOPTIONS", "")
        _options["options"] = f"{_given} -c jit=off".strip()
        # Parameters sent apart from the statement, dumped by psycopg's C adapters, instead
        # of quoted into its text in Python (the whole suite passes either way). Django
        # keeps prepared statements off, so a pooler in transaction mode still works.
        _options["server_side_binding"] = env.bool("DJANGO_DB_SERVER_SIDE_BINDING", default=True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Authentication and security ---------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Five wrong passwords for one username from one address lock that pair out
# for the cool-off period; other users and addresses are unaffected.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# History is evidence: the admin shows it but never reverts an object to an
# old version (that would bypass the services, e.g. a customer's credit limit).
SIMPLE_HISTORY_REVERT_DISABLED = True
# A password-reset link works for one hour.
PASSWORD_RESET_TIMEOUT = env.int("DJANGO_PASSWORD_RESET_TIMEOUT", default=60 * 60)

# Content-Security-Policy (django-csp): scripts and styles come from our own
# static files only. No inline script or style is allowed, except a <script>
# carrying the request's nonce ({{ request.csp_nonce }}); htmx's injected
# indicator styles are off (base.html) and live in huikuan.css instead.
# Pico's icons are data: SVGs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# Browsers report violations to this address when it is set (a CSP report collector).
_csp_report_uri = env.str("DJANGO_CSP_REPORT_URI", default="")
if _csp_report_uri:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]
# Permissions-Policy: the app uses none of the browser's powerful features.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Static and media files --------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# Media is never served by URL: proofs go through a scoped download view.
CONTRACT_PROOF_MAX_BYTES = env.int("CONTRACT_PROOF_MAX_MB", default=10) * 1024 * 1024

# --- Templates ---------------------------------------------------------------

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Celery ------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
_celery_dir = VAR_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{_celery_dir / 'results'}"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem transport reads and writes messages in one shared folder.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }
else:
    # A message not acknowledged within the visibility timeout is handed to
    # another worker: keep it far above the longest task's hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 60 * 60}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Queue of tasks sent without an explicit one (tests give a worker a private queue).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

DUNNING_RUN_AT = env.str("DUNNING_RUN_AT", default="06:00")
try:
    _run_hour, _run_minute = (int(part) for part in DUNNING_RUN_AT.split(":"))
except ValueError as error:
    raise ImproperlyConfigured("DUNNING_RUN_AT must look like HH:MM, e.g. 06:00.") from error
CELERY_BEAT_SCHEDULE = {
    "dunning-daily-run": {
        "task": "dunning.tasks.dunning_run_task",
        "schedule": crontab(hour=_run_hour, minute=_run_minute),
    },
    # Recovery from the database, then sending: re-dispatches chunks and
    # messages whose lease expired (a killed worker, a Redis that lost its
    # queue), finishes runs whose chunks are done, sends what is due
    # (retries included). Expires after one period, so a backlog never piles up.
    "dunning-send-pending": {
        "task": "dunning.tasks.dunning_send_pending_task",
        "schedule": env.int("DUNNING_SEND_EVERY_SECONDS", default=60),
        "options": {"expires": env.int("DUNNING_SEND_EVERY_SECONDS", default=60)},
    },
    # Yesterday's receivables per currency and rep, for the dashboard's
    # history figures; idempotent, so a second beat or a rerun is harmless.
    "dashboards-receivables-snapshot": {
        "task": "dashboards.tasks.receivables_snapshot_task",
        "schedule": crontab(hour=0, minute=15),
    },
}
# Statements of account: the monthly run checks each morning which schedules are
# due (monthly on the n-th working day); the sweep sends them and reaps stuck ones.
STATEMENT_RUN_AT = env.str("STATEMENT_RUN_AT", default="07:00")
try:
    _statement_hour, _statement_minute = (int(part) for part in STATEMENT_RUN_AT.split(":"))
except ValueError as error:
    raise ImproperlyConfigured("STATEMENT_RUN_AT must look like HH:MM, e.g. 07:00.") from error
CELERY_BEAT_SCHEDULE["statements-monthly-run"] = {
    "task": "statements.tasks.statement_run_task",
    "schedule": crontab(hour=_statement_hour, minute=_statement_minute),
}
CELERY_BEAT_SCHEDULE["statements-send-pending"] = {
    "task": "statements.tasks.statements_send_task",
    "schedule": env.int("DUNNING_SEND_EVERY_SECONDS", default=60),
    "options": {"expires": env.int("DUNNING_SEND_EVERY_SECONDS", default=60)},
}
STATEMENT_LEASE = timedelta(seconds=env.int("STATEMENT_LEASE_SECONDS", default=300))
STATEMENT_SEND_MAX_ATTEMPTS = env.int("STATEMENT_SEND_MAX_ATTEMPTS", default=8)
# Off: the statement's email carries the customer's link and the PDF is rendered when first
# opened (a month's run renders no PDF); on: every email attaches it, rendered when sent.
STATEMENT_ATTACH_PDF = env.bool("STATEMENT_ATTACH_PDF", default=False)
# Sender tasks the monthly run starts (each claims its own statements with SKIP LOCKED);
# as many as the worker has processes.
STATEMENT_SENDERS = env.int("STATEMENT_SENDERS", default=2)
# A chunk of the daily run (one task, one transaction under its customers' locks) holds at
# most this many customers, and past its first customer at most this many items due: what
# a chunk writes and how long it holds the locks follow its items (2,500: about a second
# on the 1M book).
DUNNING_CHUNK_SIZE = env.int("DUNNING_CHUNK_SIZE", default=2000)
DUNNING_CHUNK_ITEMS = env.int("DUNNING_CHUNK_ITEMS", default=2500)
# A claimed chunk or message nobody finished within the lease is handed out
# again. Keep it well above EMAIL_TIMEOUT: a live sender must finish first.
DUNNING_LEASE = timedelta(seconds=env.int("DUNNING_LEASE_SECONDS", default=180))
# An SMTP outage delays messages, never drops them: transient failures are
# retried with capped exponential back-off for this long (then the message is
# undelivered on the finance desk, with its reason, to retry or call).
DUNNING_SEND_RETRY_WINDOW = timedelta(
    seconds=env.int("DUNNING_SEND_RETRY_WINDOW_SECONDS", default=3 * 24 * 60 * 60)
)
DUNNING_SEND_RETRY_MAX_DELAY = timedelta(
    seconds=env.int("DUNNING_SEND_RETRY_MAX_DELAY_SECONDS", default=30 * 60)
)
DUNNING_SEND_MAX_ATTEMPTS = env.int("DUNNING_SEND_MAX_ATTEMPTS", default=500)
# Domain of the stable Message-ID of dunning emails (<uuid@domain>).
DUNNING_MESSAGE_ID_DOMAIN = env.str("DUNNING_MESSAGE_ID_DOMAIN", default="huikuan.localhost")

# --- REST API ----------------------------------------------------------------

# Session (with CSRF) for the browser, `Authorization: Token <key>` for machines.
# Tokens are per user, named, hashed at rest (api.models.ApiToken).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Huikuan API",
    "DESCRIPTION": (
        "Receivables and collections. Amounts are strings with two decimals. "
        "POST of payments and invoices honours an Idempotency-Key header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets come from our own static files: the CSP allows no other.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
# Throttle counters live in this cache. Without it each process counts on its own
# (local memory); with several web workers set a shared one, e.g. redis://127.0.0.1:6379/3.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
_throttle_cache_url = env.str("API_THROTTLE_CACHE_URL", default="")
if _throttle_cache_url:
    CACHES["api_throttle"] = env.cache_url_config(_throttle_cache_url)
# Idempotency keys are kept this long; a retry after it is a new request.
API_IDEMPOTENCY_TTL = timedelta(hours=env.int("API_IDEMPOTENCY_TTL_HOURS", default=24))
# Kept answers past the TTL replay nothing; beat deletes them every hour.
CELERY_BEAT_SCHEDULE["api-idempotency-purge"] = {
    "task": "api.tasks.idempotency_records_purge_task",
    "schedule": 60 * 60,
    "options": {"expires": 30 * 60},
}

# --- Email -------------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Seconds before a silent mail server (a blackhole) fails the attempt, so one
# attempt never eats a task's time limit.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Huikuan <receivables@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# An email provider through django-anymail (off by default: EMAIL_URL's backend, SMTP or
# the console, sends). EMAIL_PROVIDER names anymail's backend module (postmark,
# mailgun, amazon_ses, sendgrid, brevo, ...); every ANYMAIL_<NAME> variable becomes
# ANYMAIL["<NAME>"] (ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_MAILGUN_API_KEY, ...).
# The tracking webhooks, /webhooks/anymail/<provider>/tracking/, answer only when
# ANYMAIL_WEBHOOK_SECRET ("user:password", HTTP basic auth) is set.
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").strip().lower()
if EMAIL_PROVIDER and not re.fullmatch(r"[a-z_]+", EMAIL_PROVIDER):
    raise ImproperlyConfigured("EMAIL_PROVIDER must name an anymail backend, e.g. postmark.")
if EMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}

# --- Logging -----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Portal tokens travel in the path (/p/<token>/): every handler masks them.
    "filters": {"mask_portal_tokens": {"()": "portal.log_masking.MaskPortalTokensFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_portal_tokens"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_portal_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's request lines, with tokens masked like everything else.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # WeasyPrint reports a missing HarfBuzz subsetter (a 20x slowdown) here.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Creditor (demand letters) -----------------------------------------------

# The creditor on demand letters, in both letter languages: a letter uses its
# own language only. `CREDITOR_NAME` etc. are the English values (and the
# fallback of an unset Chinese one). Development gets demo values; production
# must set them, or letters fail to render with a reason finance sees.
_demo_creditor = DEBUG
CREDITOR_NAME = env.str(
    "CREDITOR_NAME_EN",
    default=env.str(
        "CREDITOR_NAME", default="Huikuan Demo Trading Co., Ltd." if _demo_creditor else ""
    ),
)
CREDITOR_NAME_ZH = env.str(
    "CREDITOR_NAME_ZH", default="回款示范贸易有限公司" if _demo_creditor else CREDITOR_NAME
)
CREDITOR_ADDRESS = env.str(
    "CREDITOR_ADDRESS_EN",
    default=env.str(
        "CREDITOR_ADDRESS",
        default="1 Example Road, Pudong, Shanghai 200120" if _demo_creditor else "",
    ),
)
CREDITOR_ADDRESS_ZH = env.str(
    "CREDITOR_ADDRESS_ZH",
    default="上海市浦东新区示范路1号" if _demo_creditor else CREDITOR_ADDRESS,
)
CREDITOR_REGISTRATION_NUMBER = env.str(
    "CREDITOR_REGISTRATION_NUMBER", default="91310000000000000X" if _demo_creditor else ""
)
# Used on a letter only for items whose contract names no payee account.
CREDITOR_BANK_ACCOUNT_NAME = env.str(
    "CREDITOR_BANK_ACCOUNT_NAME_EN",
    default=env.str("CREDITOR_BANK_ACCOUNT_NAME", default=CREDITOR_NAME),
)
CREDITOR_BANK_ACCOUNT_NAME_ZH = env.str("CREDITOR_BANK_ACCOUNT_NAME_ZH", default=CREDITOR_NAME_ZH)
CREDITOR_BANK_NAME = env.str(
    "CREDITOR_BANK_NAME_EN",
    default=env.str(
        "CREDITOR_BANK_NAME", default="Demo Bank, Shanghai Branch" if _demo_creditor else ""
    ),
)
CREDITOR_BANK_NAME_ZH = env.str(
    "CREDITOR_BANK_NAME_ZH", default="示范银行上海分行" if _demo_creditor else CREDITOR_BANK_NAME
)
CREDITOR_BANK_ACCOUNT = env.str(
    "CREDITOR_BANK_ACCOUNT", default="6222 0000 1111 2222 333" if _demo_creditor else ""
)

# --- Payments ------------------------------------------------------------------

# A payment larger than this many times the customer's open balance is recorded
# only once finance confirms it (a typo such as 999,999,999,999.99 for 72,000.00
# would otherwise become silent customer credit).
PAYMENT_CONFIRM_FACTOR = env.float("PAYMENT_CONFIRM_FACTOR", default=1.5)

# Promises to pay are decided and paid invoices thanked a quarter of an hour
# before the daily dunning run (dunning.tasks.collections_review_task).
_review_minute_of_day = (_run_hour * 60 + _run_minute - 15) % (24 * 60)
CELERY_BEAT_SCHEDULE["collections-daily-review"] = {
    "task": "dunning.tasks.collections_review_task",
    "schedule": crontab(hour=_review_minute_of_day // 60, minute=_review_minute_of_day % 60),
}

# --- Customer portal ---------------------------------------------------------

# Links to the customer's page (/p/<token>/) expire after this many days.
PORTAL_LINK_DAYS = env.int("PORTAL_LINK_DAYS", default=30)
# Requests to /p/ from one address per minute; beyond that the page answers 429.
PORTAL_RATE_LIMIT = env.str("PORTAL_RATE_LIMIT", default="100/m")
PORTAL_ATTACHMENT_MAX_BYTES = env.int("PORTAL_ATTACHMENT_MAX_MB", default=10) * 1024 * 1024
# Silent customers of a balance confirmation are reminded this many working days after its date.
PORTAL_CONFIRMATION_REMINDER_WORKING_DAYS = env.int(
    "PORTAL_CONFIRMATION_REMINDER_WORKING_DAYS", default=5
)
CELERY_BEAT_SCHEDULE["portal-confirmation-reminders"] = {
    "task": "portal.tasks.confirmation_reminders_task",
    "schedule": crontab(hour=8, minute=0),
}
# The throttle counts in a cache every web process shares: Redis when REDIS_URL is set
# (the embedded default runs one process, where the process's own memory is shared).
RATELIMIT_USE_CACHE = "ratelimit"
CACHES["ratelimit"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
)
# django-ratelimit knows Django's own Redis cache only by name (W001); the local-memory
# cache (E003) stands only in the embedded default without Redis.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] + (
    [] if REDIS_URL else ["django_ratelimit.E003"]
)

# --- Integrations: webhooks and chat robots ---------------------------------

# The public address of the app as users and customers reach it: links in emails (the
# customer's page) and deep links in robot messages start with it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Webhook deliveries: a request times out after WEBHOOK_TIMEOUT_SECONDS; a
# failed one is retried after base x 2^(attempt-1) seconds (capped), up to
# WEBHOOK_MAX_ATTEMPTS; a subscription failing WEBHOOK_DISABLE_AFTER_FAILURES
# times in a row is disabled. A claimed delivery nobody finished within the
# lease (a killed worker) is posted again by the sweep.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
# A receiver that does not accept the connection within this fails fast and backs off.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 60 * 60)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=30)
# Concurrent requests per subscription within one task, the deliveries claimed at once
# (WEBHOOK_BATCH_ROUNDS per thread), and a task's time budget: past it the task queues
# itself again behind the other subscribers' tasks, so a slow receiver takes turns.
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=16)
WEBHOOK_BATCH_ROUNDS = env.int("WEBHOOK_BATCH_ROUNDS", default=4)
WEBHOOK_TASK_BUDGET = env.int("WEBHOOK_TASK_BUDGET_SECONDS", default=10)
# Group robots: the rate limiter lives in Redis when REDIS_URL is set, else in
# the database (ROBOT_LIMITER=redis|db forces one). Robot URLs must be https://
# unless ROBOT_ALLOW_HTTP (default: DEBUG).
ROBOT_LIMITER = env.str("ROBOT_LIMITER", default="")
ROBOT_ALLOW_HTTP = env.bool("ROBOT_ALLOW_HTTP", default=DEBUG)
ROBOT_TIMEOUT_SECONDS = env.int("ROBOT_TIMEOUT_SECONDS", default=10)
ROBOT_LEASE_SECONDS = env.int("ROBOT_LEASE_SECONDS", default=120)
ROBOT_DIGEST_AT = env.str("ROBOT_DIGEST_AT", default="08:30")
try:
    _digest_hour, _digest_minute = (int(part) for part in ROBOT_DIGEST_AT.split(":"))
except ValueError as error:
    raise ImproperlyConfigured("ROBOT_DIGEST_AT must look like HH:MM, e.g. 08:30.") from error
CELERY_BEAT_SCHEDULE["integrations-sweep"] = {
    "task": "integrations.tasks.integrations_sweep_task",
    "schedule": env.int("INTEGRATIONS_SWEEP_EVERY_SECONDS", default=30),
    "options": {"expires": env.int("INTEGRATIONS_SWEEP_EVERY_SECONDS", default=30)},
}
CELERY_BEAT_SCHEDULE["robot-morning-digests"] = {
    "task": "integrations.tasks.robot_digests_task",
    "schedule": crontab(hour=_digest_hour, minute=_digest_minute),
}
