# The production image: gunicorn serves the portal and API; the same image runs the worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e . && useradd --system --home /app ebox
COPY . .
RUN EBOX_DATA_DIR=/tmp/build DATABASE_URL=postgres://unused/x REDIS_URL=redis://unused:6379/0 SECRET_KEY=build \
    python manage.py collectstatic --noinput && chown -R ebox /app
USER ebox
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "ebox.wsgi"]
