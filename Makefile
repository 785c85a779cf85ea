# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast screenshots lint format schema migrations-check install system-packages clean

$(STAMP): pyproject.toml package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund; else echo "npm missing: run make system-packages"; fi
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests and compose check need (root or sudo).
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

run: $(STAMP)
	$(PY) manage.py run_stack

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not browser"

# Every portal, sender, mandate and public page, four languages × 320/768/1280 px, the admin and API docs, and the CPAS clerk's walkthrough (walkthrough/cpas/), under .data/screenshots/ (Chromium).
screenshots: $(STAMP)
	EBOX_SCREENSHOTS=$(CURDIR)/.data/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/test_screenshots.py tests/test_screenshots_senders.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The committed OpenAPI schema (CI fails when it drifts from the code). English, whatever the locale.
schema: $(STAMP)
	$(PY) manage.py spectacular --lang en --validate --fail-on-warn --file docs/openapi.yaml

migrations-check: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .data
