"""Turning the command line's inputs into (input, output) jobs and running them one by one."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import TruesightError
from .pipeline import Stats, check_output, sharpen_video
from .stills import IMAGE_EXTS, is_image, read_rgb, to_tensor, to_uint8, write_rgb

MEDIA_EXTS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mts", ".m2ts", ".ts", ".flv", ".mpg",
              ".mpeg", ".wmv", ".3gp", ".ogv"}


def default_output(src: Path, out_dir: Path | None = None) -> Path:
    """<stem>.sharp<ext>, beside the input or in out_dir."""
    return (out_dir or src.parent) / f"{src.stem}.sharp{src.suffix}"


def is_own_output(p: Path) -> bool:
    """Whether p looks like one of our outputs (*.sharp.*), so a folder run skips it."""
    return p.stem.endswith(".sharp")


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Expand folders into their media files (sorted), skipping our own outputs."""
    out: list[Path] = []
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                              and f.suffix.lower() in MEDIA_EXTS | IMAGE_EXTS
                              and not is_own_output(f)))
        else:
            out.append(p)
    return out


@dataclass(frozen=True)
class BatchResult:
    """Summary of a multi-input run."""

    done: list[Stats]
    skipped: list[Path]
    failed: list[tuple[Path, str]]


def sharpen_image(src: Path, dst: Path, engine_factory: Callable[[], Any], overwrite: bool) -> Stats:
    """Sharpen one still image."""
    check_output(src, dst, overwrite)
    t0 = time.perf_counter()
    rgb = read_rgb(src)
    engine = engine_factory()
    out = engine.sharpen_rgb(to_tensor(rgb))
    write_rgb(dst, to_uint8(out))
    s = time.perf_counter() - t0
    return Stats(frames=1, seconds=s, fps=1 / s, output=str(dst), width=rgb.shape[1], height=rgb.shape[0],
                 device=str(engine.device), model=type(engine.model).__name__)


def sharpen_one(src: Path, dst: Path, **options: Any) -> Stats:
    """Sharpen a clip or a still image into dst."""
    if is_image(src) and src.exists():
        from .checkpoint import load_model
        from .engine import Sharpener, resolve_device

        dev = resolve_device(options.get("device", "auto"))
        def factory() -> Any:
            return Sharpener(options.get("model") or load_model(options.get("weights"), dev), dev,
                             strength=options.get("strength", 1.0), tile=options.get("tile"))
        return sharpen_image(src, dst, factory, options.get("overwrite", False))
    return sharpen_video(src, dst, **options)


def sharpen_many(inputs: list[Path], out_dir: Path | None, on_done: Callable[[Path, Stats | None, str | None], None],
                 **options: Any) -> BatchResult:
    """Sharpen several inputs; skip those whose output exists (so a stopped batch resumes)."""
    if out_dir is not None and not out_dir.is_dir():
        raise TruesightError(f"output folder does not exist: {out_dir}")
    done, skipped, failed = [], [], []
    for src in inputs:
        dst = default_output(src, out_dir)
        if dst.exists() and not options.get("overwrite"):
            skipped.append(src)
            on_done(src, None, "skipped (output exists)")
            continue
        try:
            stats = sharpen_one(src, dst, **options)
        except TruesightError as e:
            failed.append((src, str(e)))
            on_done(src, None, str(e))
            continue
        done.append(stats)
        on_done(src, stats, None)
    return BatchResult(done, skipped, failed)
