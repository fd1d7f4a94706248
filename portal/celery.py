"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from portal import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded default's broker: kombu's filesystem transport with atomic writes.
TRANSPORT_ALIASES.setdefault(broker.ALIAS, "portal.broker:Transport")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
