# Huikuan's production image: web (gunicorn), Celery worker, beat and migrate
# all run from it. Debian's Python 3.11 in a virtual environment, on Debian's
# slim base; BASE_IMAGE names another Debian 12 base (a mirror, or one built
# with debootstrap: scripts/container-base.sh).
ARG BASE_IMAGE=debian:bookworm-slim

# --- Build: the virtual environment, compiled catalogues and static files ----
FROM ${BASE_IMAGE} AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv gettext \
    && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
# Only the "# Runtime" group of requirements.txt: the tests' tools stay out.
# Behind a TLS-inspecting proxy, pass its CA bundle for this step only:
#   --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && sed -n '/^# Tests/q;p' /tmp/requirements.txt >/tmp/runtime.txt \
    && pip install --no-compile -r /tmp/runtime.txt \
    && pip uninstall --yes --quiet pip setuptools \
    && python -m compileall -q /opt/venv/lib

WORKDIR /app
COPY . .
RUN export DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-not-a-secret-used-only-while-building-the-image \
    && python manage.py compilemessages --ignore=.venv -v 0 \
    && python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q /app

# --- Runtime -----------------------------------------------------------------
FROM ${BASE_IMAGE}

# Pango for WeasyPrint, HarfBuzz's subsetter to keep it fast, a CJK font for
# Chinese letters, time zones, and CA certificates for SMTP over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei \
        tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 --user-group huikuan

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# The code stays root's; the app writes only media (a volume) and beat's schedule.
RUN mkdir -p /app/var/media && chown -R huikuan:huikuan /app/var

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=False \
    DJANGO_MEDIA_ROOT=/app/var/media \
    WEB_CONCURRENCY=3
WORKDIR /app
USER huikuan
EXPOSE 8000

# /healthz answers 200 when the database answers (worker and beat override it).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
# gunicorn starts WEB_CONCURRENCY worker processes.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--logger-class", "portal.gunicorn_logging.MaskingLogger"]
