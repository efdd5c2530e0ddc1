FROM python:3.11-slim-bookworm

# Pango for WeasyPrint, HarfBuzz's subsetter to keep it fast, a CJK font for
# Chinese letters, gettext for the translation catalogues.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei gettext \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret \
        python manage.py compilemessages --ignore=.venv -v 0 \
    && DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret \
        python manage.py collectstatic --noinput -v 0 \
    && useradd --create-home --uid 1000 huikuan \
    && mkdir -p /app/var/media && chown -R huikuan /app/var

USER huikuan
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
