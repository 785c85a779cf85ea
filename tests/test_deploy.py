"""The deployment files: Kubernetes manifests (kubernetes-validate, the API's own JSON schemas),
the compose file (docker-compose config), and the image's install and start commands run outside a
container (a clean virtualenv, `pip install .` from pyproject.toml and README.md only)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from tests.hosts_support import ROOT, Host, production_env, provided_keys, services_env

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"

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


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_manifests_are_valid(path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        if document["kind"] in ("Deployment", "Job"):
            pod = document["spec"]["template"]["spec"]
            container = pod["containers"][0]
            assert container["securityContext"]["runAsNonRoot"] is True
            env = {e["name"] for e in container["env"]}
            for key in ["SECRET_KEY", "EBOX_CLIENT_SECRET_KEY", "EBOX_AUDIT_HMAC_KEY", "EBOX_KEK", "EBOX_SEAL_KEYS"]:
                assert f"{key}_FILE" in env, (path.name, key)


def test_a_broken_manifest_is_refused():
    document = yaml.safe_load((K8S / "web.yaml").read_text().split("---")[0])
    document["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_file_is_valid_and_needs_every_key():
    keys = ["POSTGRES_PASSWORD", "SECRET_KEY", "EBOX_KEK", "EBOX_SEAL_KEYS", "EBOX_AUDIT_HMAC_KEY"]
    keys += ["EBOX_CLIENT_SECRET_KEY", "MINIO_ROOT_PASSWORD"]
    env = {"PATH": "/usr/bin:/bin", **{k: "check" for k in keys}}
    command = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    for key in keys:
        missing = subprocess.run(
            command, env={k: v for k, v in env.items() if k != key}, capture_output=True, text=True
        )
        assert missing.returncode != 0 and key in missing.stderr, key


def test_the_dockerfile_creates_and_owns_the_data_volume_before_dropping_root():
    lines = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in lines and "-e ." not in lines
    assert lines.index("chown ebox:ebox /data") < lines.index("USER ebox")


@pytest.mark.worker
def test_the_image_install_and_start_commands_work_from_a_clean_virtualenv(transactional_db, tmp_path, s3_server):
    """What the Dockerfile runs, minus the container: `pip install .` into a fresh virtualenv, then the
    worker answers a ping and gunicorn answers /healthz, as the non-root user running pytest."""
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(ROOT / "pyproject.toml", build)
    shutil.copy(ROOT / "README.md", build)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "."], cwd=build, capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # kombu's Redis transport imports `packaging`: celery[redis] must bring it.
    subprocess.run([python, "-c", "import kombu.transport.redis, packaging, storages, boto3"], check=True)
    freeze = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    assert "\npytest==" not in "\n" + freeze  # only the runtime dependencies: nothing borrowed from the dev extra
    # kombu's Redis transport is installed as its `redis` extra declares it (`packaging` also comes
    # with django-csp, by chance and at another version: the extra must be what brings it).
    unmet = subprocess.run([python, "-c", _UNMET_REDIS_EXTRA], capture_output=True, text=True, check=True).stdout
    assert unmet.strip() == "", unmet

    data = tmp_path / "data"
    data.mkdir()
    host = Host("image", data, {})
    host.env = production_env(
        data, **services_env(), **s3_server.env(s3_server.new_bucket()), **provided_keys(), PUBLIC_URL=host.url
    )
    try:
        host.start_worker(python=python)
        host.start_web(python=python)
    finally:
        host.stop_all()
    assert not (data / "keys").exists() and not (data / "secrets").exists()
