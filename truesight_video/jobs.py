"""Turning the command line's inputs into (input, output) jobs and running them one by one."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import TruesightError, first_line
from .options import EncodeSettings, SharpenOptions
from .fsutil import check_output
from .pipeline import Stats, sharpen_video
from .stills import IMAGE_EXTS, check_writable, is_image, read_still, to_tensor, to_uint8_rgb, write_still

log = logging.getLogger("truesight_video")

MEDIA_EXTS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mts", ".m2ts", ".ts", ".flv", ".mpg",
              ".mpeg", ".wmv", ".3gp", ".ogv", ".gif"}


def default_output(src: Path, out_dir: Path | None = None) -> Path:
    """<stem>.sharp<ext>, beside the input or in out_dir; a GIF's is .mp4 (check_output refuses GIFs), a
    .jfif's or .jpe's .jpg (JPEG under names OpenCV reads but does not write)."""
    ext = {".gif": ".mp4", ".jfif": ".jpg", ".jpe": ".jpg"}.get(src.suffix.lower(), src.suffix)
    return (out_dir or src.parent) / f"{src.stem}.sharp{ext}"


def output_for(src: Path, output: str | None, single: bool) -> Path:
    """Where src's output goes: -o itself for a single input unless it names a folder (an existing one, or
    a path ending in a slash), else <stem>.sharp<ext> in that folder or beside src."""
    if output is None:
        return default_output(src)
    if single and not Path(output).is_dir() and not output.endswith(("/", os.sep)):
        return Path(output)
    return default_output(src, Path(output))


def skip_reason(src: Path, dst: Path, claimed: dict[Path, Path], overwrite: bool) -> str | None:
    """Why a batch skips this job (its output exists, or an earlier input of the same name has it), else
    None and dst is claimed for src."""
    key = Path(os.path.abspath(dst))
    if key in claimed:
        return f"skipped (same output as {claimed[key]})"
    if dst.exists() and not overwrite:
        return "skipped (output exists)"
    claimed[key] = src
    return None


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
    failed: list[tuple[Path, TruesightError]]


def sharpen_image(src: Path, dst: Path, options: SharpenOptions, model: Any = None) -> Stats:
    """Sharpen one still image (original | sharpened with side_by_side)."""
    from .checkpoint import load_model, model_label
    from .compose import compose
    from .engine import Sharpener, resolve_device

    check_output(src, dst, options.overwrite)
    check_writable(dst)
    ignored = [what for what, unset in (("a start time", options.start == 0), ("a duration", options.duration is None),
                                        ("encoder settings", options.encode == EncodeSettings())) if not unset]
    if ignored:
        log.warning("%s is a still image: %s do not apply; ignored", src.name, " and ".join(ignored))
    eng = options.engine
    dev = resolve_device(eng.device)
    t0 = time.perf_counter()
    still = read_still(src)
    if still.meta.frames != 1 and src.suffix.lower() in (".tif", ".tiff"):
        log.warning("%s holds %d pages: only its first is sharpened", src.name, still.meta.frames)
    elif still.meta.frames != 1:
        log.warning("%s is animated: only its first frame is sharpened (%s)", src.name,
                    f"{still.meta.frames} frames" if still.meta.frames else "a still reader reads no more")
    rgb = still.rgb
    net = model if model is not None else load_model(eng.weights, dev)
    with Sharpener(net, dev, precision=eng.precision, strength=eng.strength, tile=eng.tile,
                   frame_size=(rgb.shape[1], rgb.shape[0]), backend=eng.backend) as engine:
        sharp = engine.sharpen_rgb(to_tensor(rgb))[0].float().permute(1, 2, 0).cpu().numpy()
    if options.side_by_side:  # the labels are drawn in 8 bits
        sharp = compose(to_uint8_rgb(rgb), to_uint8_rgb(sharp), "side").astype(np.float32) / 255.0
        still = replace(still, bits=8)
    write_still(dst, sharp, still)
    out = sharp
    s = time.perf_counter() - t0
    return Stats(frames=1, seconds=s, fps=1 / s, output=str(dst), width=out.shape[1], height=out.shape[0],
                 device=str(dev), model=model_label(eng.weights), precision=engine.numerics.precision,
                 memory_format=engine.numerics.memory_format, backend=engine.numerics.backend)


def sharpen_one(src: Path, dst: Path, options: SharpenOptions, model: Any = None,
                on_frames: Callable[[int], None] | None = None) -> Stats:
    """Sharpen a clip or a still image into dst; on_frames(n) hears of frames as they are written."""
    if is_image(src) and src.exists():
        stats = sharpen_image(src, dst, options, model)
        if on_frames is not None:
            on_frames(1)
        return stats
    return sharpen_video(src, dst, options, model=model, on_frames=on_frames)


def sharpen_many(jobs: list[tuple[Path, Path]], on_done: Callable[[Path, Stats | None, str | TruesightError | None], None],
                 options: SharpenOptions, model: Any = None) -> BatchResult:
    """Sharpen (input, output) jobs; skip those whose output exists (so a stopped batch resumes) or that
    an earlier input already writes (two clip.mov from different folders)."""
    for folder in dict.fromkeys(dst.parent for _, dst in jobs):
        if not folder.is_dir():
            raise TruesightError(f"output folder does not exist: {folder}")
    done, skipped, failed = [], [], []
    claimed: dict[Path, Path] = {}
    for src, dst in jobs:
        reason = skip_reason(src, dst, claimed, options.overwrite)
        if reason:
            skipped.append(src)
            on_done(src, None, reason)
            continue
        try:
            stats = sharpen_one(src, dst, options, model)
        except Exception as e:  # a bug met on one clip fails that clip only, as on Ray
            err = e if isinstance(e, TruesightError) else TruesightError(f"{type(e).__name__}: {first_line(e)}")
            failed.append((src, err))
            on_done(src, None, err)
            continue
        done.append(stats)
        on_done(src, stats, None)
    return BatchResult(done, skipped, failed)
