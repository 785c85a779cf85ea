"""gunicorn's settings for the Dockerfile and docker-compose.yml (`gunicorn -c gunicorn.conf.py ebox.wsgi`).

Request limits: gunicorn answers past these itself (an HTML 400 "Request Line is too large" or
"Request Header Fields Too Large"), before Django runs. Django answers below them with a
StatusMessage on /api/ (ebox.safe_input: a URL over 4,096 bytes gets 414, a header over 4,096
bytes or headers over 16,384 bytes in all get 431), so a client only meets gunicorn's answer
past twice our own limits.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
limit_request_line = 8190  # gunicorn's maximum
limit_request_field_size = 8190
limit_request_fields = 100
timeout = 60
