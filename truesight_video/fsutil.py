"""Safe outputs: checked before any work (never the input, never over a file without -y), written to
a temporary file beside the target and renamed only when finished."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ParameterError, TruesightError

TEMP_TOKEN = 8  # hex digits between the stem and ".part"


def temp_name(target: Path, token: str) -> str:
    """The name of a temporary file for target: hidden, beside it, ending .part<ext> so the muxer still knows it."""
    return f".{target.stem}.{token}.part{target.suffix}"


def _create_temp(target: Path) -> Path:
    """A new empty file beside target, made with mode 0o666 so the process umask applies as for any
    file it writes (mkstemp's 0o600 would leave finished outputs private)."""
    for _ in range(100):
        tmp = target.parent / temp_name(target, secrets.token_hex(TEMP_TOKEN // 2))
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {target}")


@contextmanager
def atomic_path(target: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside target; os.replace it onto target on success, delete it on any error
    (durable: flushed to disk first, as an output a rerun would skip must be)."""
    target = Path(target)
    tmp_path = _create_temp(target)
    try:
        yield tmp_path
        # on disk before it takes the name, and the new name on disk after: else a power cut or a lost
        # node can leave an empty file under the final name, which a rerun would then skip as done
        if durable:
            _fsync(tmp_path)
        os.replace(tmp_path, target)
        if durable:
            _fsync(target.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the rename itself still happened
        pass
    finally:
        os.close(fd)


def leftover_temps(target: str | os.PathLike) -> list[Path]:
    """Temporary files of target that a writer killed mid-write (SIGKILL, a lost worker) left beside it."""
    target = Path(target)
    head, tail = f".{target.stem}.", f".part{target.suffix}"  # around the token, as temp_name() puts them
    try:
        names = [p.name for p in target.parent.iterdir()]
    except OSError:
        return []
    return [target.parent / n for n in names
            if n.startswith(head) and n.endswith(tail) and len(n) == len(head) + TEMP_TOKEN + len(tail)
            and all(c in "0123456789abcdef" for c in n[len(head):len(head) + TEMP_TOKEN])]


def remove_leftover_temps(target: str | os.PathLike) -> int:
    """Delete target's leftover temporary files (only its writer may call this); returns how many."""
    found = leftover_temps(target)
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)


def check_output(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse outputs that would lose data or cannot be written."""
    if dst.suffix.lower() == ".gif":
        # 256 colours a frame: re-quantizing would undo the sharpening
        raise ParameterError("output", f"cannot be a GIF ({dst.name}): write .mp4 or .webm (.png for a still)")
    if dst.exists() and src.exists() and os.path.samefile(src, dst) or dst.resolve() == src.resolve():
        raise TruesightError(f"output would overwrite the input: {dst}")
    if dst.is_dir():
        raise TruesightError(f"output is a directory: {dst}")
    if dst.exists() and not overwrite:
        raise TruesightError(f"output exists: {dst} (use -y to overwrite)")
    parent = dst.parent
    if not parent.is_dir():
        raise TruesightError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise TruesightError(f"output folder is not writable: {parent}")
