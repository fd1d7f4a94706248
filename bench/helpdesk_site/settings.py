"""Settings of the small Django project that runs django-helpdesk for ``bench/ingest_imap.py``.

It runs in its own virtualenv (``.local/bench/helpdesk-venv``), never in the portal's, against
its own PostgreSQL database named by ``HELPDESK_DATABASE_URL``. Outgoing mail (helpdesk answers
each new ticket's submitter) goes to the dummy backend: rendered, not sent, as our poll sends
nothing either.
"""

import os
from urllib.parse import urlsplit

_database = urlsplit(os.environ["HELPDESK_DATABASE_URL"])

SECRET_KEY = "bench-helpdesk-" + "k" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
ROOT_URLCONF = "urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": _database.username or "postgres",
        "PASSWORD": _database.password or "",
        "HOST": _database.hostname or "127.0.0.1",
        "PORT": _database.port or 5432,
    }
}
MEDIA_ROOT = os.environ["HELPDESK_MEDIA_ROOT"]
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "support@acme.example"
# No pinax-teams: the benchmark needs tickets, not team permissions.
HELPDESK_TEAMS_MODE_ENABLED = False
