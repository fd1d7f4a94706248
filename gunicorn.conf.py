"""Gunicorn settings for the scaled-out web processes (`make web`, the Docker image).

Everything comes from the environment; a `--bind` or `--workers` on the command line wins
over what is set here.
"""

import os
from pathlib import Path


def _int_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Sync workers: 2 x cores + 1 is gunicorn's rule of thumb, capped so that a large host does
# not open more database connections than PostgreSQL's max_connections allows.
_DEFAULT_WORKERS = min(2 * (os.cpu_count() or 1) + 1, 8)

wsgi_app = "portal.wsgi:application"
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int_from_env('PORT', 8000)}"  # noqa: S104 - in a container or behind a load balancer.
workers = _int_from_env("WEB_CONCURRENCY", _DEFAULT_WORKERS)
timeout = _int_from_env("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests, so that a slow leak cannot grow without end.
max_requests = 1000
max_requests_jitter = 100

# Only the load balancer's addresses may tell us the scheme and client through X-Forwarded-*;
# settings.SECURE_PROXY_SSL_HEADER relies on it when debug is off.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The worker heartbeat file lives in memory where there is a tmpfs (Docker's /dev/shm).
if Path("/dev/shm").is_dir():  # noqa: S108 - gunicorn's documented setting for containers.
    worker_tmp_dir = "/dev/shm"  # noqa: S108
