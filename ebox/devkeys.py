"""Development keys and secrets generated into the git-ignored data folder, safely under concurrency.

`make run` starts several processes at once (two web workers, a Celery worker, beat); the
first to need a key creates it. Creation happens under an exclusive file lock and files
are written atomically (temporary file, then rename), so no process reads a half-written
key or a pointer to a key that does not exist yet.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, readable by this user only, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_created(path: Path, create: Callable[[], None]) -> None:
    """Run `create` (which must write `path`) unless `path` exists, once across processes."""
    if path.exists():
        return
    with folder_lock(path.parent):
        if not path.exists():
            create()
