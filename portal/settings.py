"""Settings for the Portal, all driven by environment variables (see .env.example).

With no variables set the portal runs the embedded default: SQLite in WAL mode, a file
cache and a Celery broker on kombu's filesystem transport under ``.local/``, debug on.
``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.crypto import encryption_key_from
from portal.links import base_url_from

BASE_DIR = Path(__file__).resolve().parent.parent

# The .env file comes first, before any setting it may set; variables already set in the
# environment win over it. PORTAL_ENV_FILE (environment only) names another file, and a file
# named that way must exist, so that a typo is not silently a portal without its settings.
env = environ.Env()
ENV_FILE_NAMED = env.str("PORTAL_ENV_FILE", default="")
ENV_FILE = Path(ENV_FILE_NAMED) if ENV_FILE_NAMED else BASE_DIR / ".env"
if ENV_FILE_NAMED and not ENV_FILE.is_file():
    raise ImproperlyConfigured(f"PORTAL_ENV_FILE names {ENV_FILE}, which is not a file.")
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

LOCAL_DIR = Path(env.str("PORTAL_LOCAL_DIR", default=str(BASE_DIR / ".local")))

DEVELOPMENT_SECRET_KEY = "django-insecure-portal-development-key-do-not-use-in-production"

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters "
        "when DJANGO_DEBUG is off."
    )

# Fernet key for secrets at rest (portal/crypto.py): required with debug off, derived from the
# secret key only in debug.
PORTAL_ENCRYPTION_KEY = encryption_key_from(
    env.str("PORTAL_ENCRYPTION_KEY", default=""), debug=DEBUG, secret_key=SECRET_KEY
)
# The public address for absolute links in e-mails, webhooks and snippets (portal/links.py):
# required with debug off, https unless the host is loopback.
PORTAL_BASE_URL = base_url_from(env.str("PORTAL_BASE_URL", default=""), debug=DEBUG)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "portal",
    "feedback",
    "surveys",
    "backlog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.navigation",
            ],
        },
    },
    # Jinja2 renders only the inbox's list, the page support staff load all day (its 25 rows:
    # 9 ms of a page in Django's engine, 1.4 ms in this one), from templates/jinja2/, always by
    # name through portal.jinja2.render_fragment or using="jinja2". It autoescapes like Django's
    # engine; an undefined name is an error.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "portal.jinja2.environment"},
    },
]

# Database: SQLite in WAL mode with a busy timeout by default, so that the web process and
# the embedded Celery worker can write to the same file; PostgreSQL with DATABASE_URL.
SQLITE_PATH = LOCAL_DIR / "portal.sqlite3"
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    # A file cache is shared by the web process and the embedded worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(LOCAL_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's model backend, the user's profile read along (portal.auth).
AUTHENTICATION_BACKENDS = ["portal.auth.PortalBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("PORTAL_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Debug serves static files straight from STATICFILES_DIRS; the test runner turns DEBUG off
# after this module is read, so this keeps tests from looking for a collected STATIC_ROOT.
WHITENOISE_AUTOREFRESH = DEBUG
# Files browsers ask for at the site root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(LOCAL_DIR / "media")))

# Uploads are untrusted: cap what is read into memory and how many fields a form may carry.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Imports run in the background (portal/imports/jobs.py), so only the size is capped: 50 MB
# holds 100,000 customers with a dozen attributes each. An upload beyond the memory size above
# is streamed to a temporary file, not held in memory.
PORTAL_CSV_MAX_BYTES = env.int("PORTAL_CSV_MAX_BYTES", default=50 * 1024 * 1024)
# Rows an import job writes per transaction: short transactions keep SQLite's other writers
# within the busy timeout and make the progress bar move.
PORTAL_IMPORT_CHUNK_ROWS = env.int("PORTAL_IMPORT_CHUNK_ROWS", default=500)
# Plaintext IMAP (security = none) sends the password in clear: refused for hosts other than
# loopback unless this is set (feedback/channels/imap).
PORTAL_ALLOW_PLAINTEXT_IMAP = env.bool("PORTAL_ALLOW_PLAINTEXT_IMAP", default=False)
# Which addresses the channel connectors may connect to (feedback/channels/network.py): public
# (internet addresses only), local (those and loopback: the default with debug on, for the
# tests' and a developer's local servers) or any (private networks too, for a forum or mail
# server on the company network).
PORTAL_CHANNEL_NETWORKS = env.str("PORTAL_CHANNEL_NETWORKS", default="local" if DEBUG else "public")
if PORTAL_CHANNEL_NETWORKS not in ("public", "local", "any"):
    raise ImproperlyConfigured(
        f"PORTAL_CHANNEL_NETWORKS is {PORTAL_CHANNEL_NETWORKS!r}: it must be public, local or any."
    )
# Likely duplicates (feedback/services/duplicates.py): the same customer's items whose first
# messages came through two channels within this many hours of each other, with texts at least
# this similar (0 to 1: pg_trgm similarity on PostgreSQL, rapidfuzz's token sort ratio else).
# At 0.5 both flag a request told again in other words (pg_trgm ~0.55, rapidfuzz ~0.75) and
# neither flags two unrelated English messages (pg_trgm ~0.1, rapidfuzz ~0.4).
# Proxies (load balancers) in front of the web processes that append the client's address to
# X-Forwarded-For: the widget's rate limit counts the address the outermost one saw. 0: the
# peer's address (REMOTE_ADDR) is the client's.
PORTAL_TRUSTED_PROXIES = env.int("PORTAL_TRUSTED_PROXIES", default=0)
PORTAL_DUPLICATE_WINDOW_HOURS = env.int("PORTAL_DUPLICATE_WINDOW_HOURS", default=72)
PORTAL_DUPLICATE_THRESHOLD = env.float("PORTAL_DUPLICATE_THRESHOLD", default=0.5)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Sessions are written to the database and read from the cache (Redis, or the embedded file
# cache): a page does not query the session table.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Security: strict defaults that `manage.py check --deploy` accepts once debug is off.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie; the token is sent through hx-headers.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# One page size for the portal's pages and its API lists (the API's ``page_size`` may ask for
# up to 200).
PORTAL_PAGE_SIZE = env.int("PORTAL_PAGE_SIZE", default=25)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous API call answers 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's defaults, with the JSON parser that caps nesting (a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "PAGE_SIZE": PORTAL_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [
        "portal.api.filters.PortalFilterBackend",
        "portal.api.filters.CappedSearchFilter",
        "portal.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DATETIME_FORMAT": "iso-8601",
    "DEFAULT_THROTTLE_RATES": {"token": "20/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portal API",
    "DESCRIPTION": "Customer feedback, surveys and a value-ranked backlog for many teams.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a `status` with its own choices; each set gets a stable name
    # rather than one derived from a hash of its values.
    "ENUM_NAME_OVERRIDES": {
        "ImportStatusEnum": "portal.models.ImportStatus",
        "FeedbackItemStatusEnum": "feedback.models.ItemStatus",
        "QuarantineStatusEnum": "feedback.models.QuarantineStatus",
        "ItemPriorityEnum": "feedback.models.ItemPriority",
        "PriorityOrAutomaticEnum": "feedback.api.serializers.triage.PRIORITY_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.refuse_nul_in_text",
    ],
}

# Celery: Redis with REDIS_URL, otherwise kombu's filesystem transport under .local/, which
# needs no server: `make run` starts one worker with an embedded beat against it.
CELERY_BROKER_DIR = LOCAL_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport, writing each message atomically (portal/broker.py).
    CELERY_BROKER_URL = "portalfs://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{LOCAL_DIR / 'results'}"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("PORTAL_TASKS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
PORTAL_HEARTBEAT_SECONDS = env.int("PORTAL_HEARTBEAT_SECONDS", default=30)
CELERY_BEAT_SCHEDULE = {
    "portal-heartbeat": {
        "task": "portal.tasks.record_heartbeat",
        "schedule": PORTAL_HEARTBEAT_SECONDS,
        "options": {"expires": PORTAL_HEARTBEAT_SECONDS},
    },
    "portal-notification-digests": {
        "task": "portal.tasks.send_notification_digests",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
    "portal-resume-import-jobs": {
        "task": "portal.tasks.resume_import_jobs",
        "schedule": 60,
        "options": {"expires": 60},
    },
    # Claims the channels due for a poll and queues one poll each (feedback/tasks.py).
    "feedback-dispatch-due-channels": {
        "task": "feedback.tasks.dispatch_due_channels",
        "schedule": 5,
        "options": {"expires": 5},
    },
    # Parses payloads whose parse was lost (a worker died between storing and parsing).
    "feedback-parse-stale-payloads": {
        "task": "feedback.tasks.parse_stale_payloads",
        "schedule": 60,
        "options": {"expires": 60},
    },
    # Marks SLA breaches, escalates and tells the team's leads (feedback/services/sla.py).
    "feedback-mark-sla-breaches": {
        "task": "feedback.tasks.mark_sla_breaches",
        "schedule": 60,
        "options": {"expires": 60},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("PORTAL_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

PORTAL_REQUIRE_SERVICES = env.bool("PORTAL_REQUIRE_SERVICES", default=False)
