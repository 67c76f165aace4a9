"""Distillation where ground truth is missing: the teacher's restoration of real blurry frames becomes
the target of a GoPro-layout pair (input -> teacher output) that `train` can mix in."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import ParameterError, TruesightError
from ..stills import IMAGE_EXTS, is_image, read_rgb, to_tensor, to_uint8
from .data import frame_key, unique_name
from .synth import claim_sequences, write_pair


def real_frames(source: Path, every: int, limit: int | None) -> Iterator[tuple[str, np.ndarray]]:
    """(name, RGB frame) of an image, a folder of images, or every `every`-th frame of a video."""
    if source.is_dir():
        files = sorted((p for p in source.rglob("*") if p.suffix.lower() in IMAGE_EXTS),
                       key=lambda p: (str(p.parent), frame_key(p.stem)))
        for p in files[::every][:limit]:
            yield f"{p.parent.name}_{p.stem}", read_rgb(p)
        return
    if is_image(source):
        yield source.stem, read_rgb(source)
        return
    from ..media import iter_rgb  # PyAV only for videos

    n = 0
    for i, frame in enumerate(iter_rgb(source)):
        if i % every:
            continue
        if limit is not None and n >= limit:
            return
        yield f"{source.stem}_{i:06d}", frame
        n += 1


@torch.inference_mode()
def distill(sources: list[str | os.PathLike], out: str | os.PathLike, teacher: torch.nn.Module, device: torch.device,
            every: int = 1, limit: int | None = None, max_side: int = 1280, progress: bool = True,
            overwrite: bool = False) -> int:
    """Write OUT/train/<source>/{blur,sharp}/NNNNNN.png: each real frame (scaled so its longer side is at
    most max_side) and the teacher's restoration of it. Returns the number of pairs written."""
    import cv2
    from tqdm import tqdm

    if every < 1:
        raise ParameterError("every", f"must be >= 1, got {every}")
    if limit is not None and limit < 1:
        raise ParameterError("limit", f"must be >= 1, got {limit}")
    root = Path(out) / "train"
    paths = [Path(s) for s in sources]
    for src in paths:
        if not src.exists():
            raise TruesightError(f"--from not found: {src}")
    seqs: list[str] = []
    for src in paths:  # a/x.png and b/x.png would write the same sequence: the second gets DIST_x_2
        seqs.append(unique_name(f"DIST_{src.stem}", seqs))
    claim_sequences(root, seqs, overwrite)
    written = 0
    for src, seq in zip(paths, seqs):
        for k, (_, rgb) in enumerate(tqdm(real_frames(src, every, limit), desc=src.name[:24], unit="frame",
                                          disable=not progress)):
            h, w = rgb.shape[:2]
            if max(h, w) > max_side:
                f = max_side / max(h, w)
                rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
            y = to_uint8(teacher(to_tensor(np.ascontiguousarray(rgb)).to(device)))
            write_pair(root, seq, k, {"blur": rgb, "sharp": y})
            written += 1
    return written
