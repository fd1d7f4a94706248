# One image for every process of the scaled-out setup: the web (gunicorn, the default
# command), Celery workers and the one beat (see docker-compose.yml and docs/operations.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_DEBUG=0 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    PORTAL_LOCAL_DIR=/app/.local \
    PORT=8000

WORKDIR /app

# Dependencies first, so that a code change reuses this layer. psycopg2-binary and
# cryptography ship wheels: no compiler needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN groupadd --system portal && useradd --system --gid portal --home-dir /app portal

COPY --chown=portal:portal . .

# Static files are collected at build time into the image. Settings refuse to start with
# debug off and no secret key, encryption key or base URL, so this one RUN gets throwaway
# values that never leave it.
RUN DJANGO_SECRET_KEY="build-only-collectstatic-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
        PORTAL_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
        PORTAL_BASE_URL=https://build.invalid \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/.local \
    && chown -R portal:portal /app/.local /app/staticfiles

USER portal

EXPOSE 8000

# Probes: GET /healthz (alive) and /readyz (database, cache and broker answer); see
# docker-compose.yml. No HEALTHCHECK here, since worker and beat run this image too.
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
