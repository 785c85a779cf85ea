"""The package installs what production runs: a clean virtualenv, `pip install .` of the project
files exactly as the Dockerfile does (pyproject.toml and README.md only), then a Celery worker
from that virtualenv against this session's real Redis and PostgreSQL, answering a ping.

The fault it guards: kombu's Redis transport imports `packaging`, which only the `redis` extra
of celery/kombu installs; the development virtualenv had it by chance, the image did not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.worker

# Run in the clean virtualenv: prints each requirement of kombu[redis] that is missing or at another version.
_UNMET_REDIS_EXTRA = """
from importlib.metadata import PackageNotFoundError, requires, version
from packaging.requirements import Requirement
for text in requires("kombu"):
    requirement = Requirement(text)
    if requirement.marker is None or not requirement.marker.evaluate({"extra": "redis"}):
        continue
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        print(requirement, "missing")
        continue
    if installed not in requirement.specifier:
        print(requirement, "installed", installed)
"""


def test_the_dockerfile_installs_the_package_without_the_editable_flag():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY pyproject\.toml README\.md \./$", dockerfile, re.M)
    assert "RUN pip install --no-cache-dir . " in dockerfile


def test_a_worker_starts_from_a_clean_installation_as_the_dockerfile_makes_it(tmp_path, celery_worker_factory):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):  # what the Dockerfile copies before installing
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "."], cwd=source, capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    freeze = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    assert "\npytest==" not in "\n" + freeze  # only the runtime dependencies: nothing borrowed from the dev extra

    # kombu's Redis transport is installed as its `redis` extra declares it (today `packaging` also
    # comes with django-csp, by chance and at another version: the extra must be what brings it).
    unmet = subprocess.run([python, "-c", _UNMET_REDIS_EXTRA], capture_output=True, text=True, check=True).stdout
    assert unmet.strip() == "", unmet

    # The worker runs the repository's code (cwd and PYTHONPATH) with only what was installed.
    worker = celery_worker_factory(python=python)
    assert worker.poll() is None
