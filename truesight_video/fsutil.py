"""Atomic output: write to a temporary file beside the target, rename only when finished."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _create_temp(target: Path) -> Path:
    """A new empty file beside target, made with mode 0o666 so the process umask applies as for any
    file it writes (mkstemp's 0o600 would leave finished outputs private)."""
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {target}")


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside target; os.replace it onto target on success, delete it on any error."""
    target = Path(target)
    tmp_path = _create_temp(target)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
