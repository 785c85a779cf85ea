# The production image: gunicorn serves the portal and API; the same image runs the worker and beat.
# Runs as the non-root user `ebox`; /data is its writable volume (beat's schedule file, temporary
# files); keys and blobs are not there: they come from the environment / secret files and the bucket.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    EBOX_ENV=production EBOX_DATA_DIR=/data EBOX_STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ebox \
    && mkdir -p /data && chown ebox:ebox /data && chmod 0700 /data
COPY . .
# collectstatic needs settings, not services or keys: development mode with a throwaway data folder.
RUN EBOX_ENV=development EBOX_DATA_DIR=/tmp/build DATABASE_URL=postgres://unused/x REDIS_URL=redis://unused:6379/0 \
    SECRET_KEY=build EBOX_CLIENT_SECRET_KEY=build EBOX_AUDIT_HMAC_KEY=build \
    python manage.py collectstatic --noinput && rm -rf /tmp/build
USER ebox
VOLUME ["/data"]
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "ebox.wsgi"]
