"""GoPro-layout pairs: finding sequences, matching blurry and sharp frames by stem, random crops.

A sequence is any folder holding an input sub-folder (blur, blur_gamma, ...) and sharp/; ROOT may
hold train/ and test/, sequences directly, or be one sequence itself."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import TruesightError
from ..stills import IMAGE_EXTS, read_rgb



@dataclass(frozen=True)
class Pair:
    """One blurry input and its sharp target."""

    blurry: Path
    sharp: Path
    sequence: str


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file()}


def _is_sequence(folder: Path) -> bool:
    return (folder / "sharp").is_dir()


def find_sequences(root: str | os.PathLike, split: str | None = None) -> list[Path]:
    """Sequence folders under root (or under root/split when that exists), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise TruesightError(f"data folder not found: {root}")
    if split and (root / split).is_dir():
        root = root / split
    if _is_sequence(root):
        return [root]
    seqs = sorted(p for p in root.iterdir() if p.is_dir() and _is_sequence(p))
    if not seqs:  # ROOT with train/ and test/ but no split asked for: take both
        seqs = sorted(q for sub in ("train", "test") if (root / sub).is_dir()
                      for q in (root / sub).iterdir() if q.is_dir() and _is_sequence(q))
    return seqs


def sequence_pairs(seq: Path, inputs: tuple[str, ...]) -> list[Pair]:
    """Pairs of one sequence for each input folder that exists there, matched by file stem."""
    sharp = _images(seq / "sharp")
    pairs = []
    for name in inputs:
        if not (seq / name).is_dir():
            continue
        blurry = _images(seq / name)
        pairs += [Pair(blurry[s], sharp[s], seq.name) for s in sorted(blurry) if s in sharp]
    return pairs


def find_pairs(roots: list[str | os.PathLike], inputs: tuple[str, ...] = ("blur_gamma",),
               split: str | None = None) -> list[Pair]:
    """All pairs under the roots; a clear error when there are none."""
    pairs: list[Pair] = []
    for root in roots:
        seqs = find_sequences(root, split)
        found = [p for s in seqs for p in sequence_pairs(s, inputs)]
        if not found:
            have = sorted({d.name for s in seqs for d in s.iterdir() if d.is_dir()}) if seqs else []
            hint = f" (sub-folders there: {', '.join(have)}; choose one with --input)" if have else ""
            raise TruesightError(f"no {'/'.join(inputs)} + sharp pairs under {root}{hint}")
        pairs += found
    return pairs


def holdout_last(pairs: list[Pair], n: int) -> tuple[list[Pair], list[Pair]]:
    """Split off the last n frames (by stem order) of every sequence, for validation."""
    if n <= 0:
        return pairs, []
    train, val = [], []
    by_seq: dict[str, list[str]] = {}
    for p in pairs:
        by_seq.setdefault(p.sequence, [])
        if p.sharp.stem not in by_seq[p.sequence]:
            by_seq[p.sequence].append(p.sharp.stem)
    held = {(s, st) for s, stems in by_seq.items() for st in sorted(stems)[-n:]}
    for p in pairs:
        (val if (p.sequence, p.sharp.stem) in held else train).append(p)
    return train, val


@lru_cache(maxsize=4096)
def cached_rgb(path: Path) -> np.ndarray:
    """read_rgb with an in-memory cache (training revisits the same frames every epoch)."""
    a = read_rgb(path)
    a.setflags(write=False)
    return a


def to_tensor(a: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float().div_(255.0)


def random_crop_pair(blurry: np.ndarray, sharp: np.ndarray, crop: int, rng: np.random.Generator,
                     scale_min: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The same random crop, flips and 90-degree rotation applied to both images; with scale_min < 1
    the crop is first taken larger and shrunk by a random factor in [scale_min, 1], which shortens
    the blur with it (more blur lengths from the same few real pairs)."""
    import cv2

    h, w = sharp.shape[:2]
    s = float(rng.uniform(scale_min, 1.0)) if scale_min < 1.0 else 1.0
    c = min(int(round(crop / s)), h, w)
    y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
    a, b = blurry[y:y + c, x:x + c], sharp[y:y + c, x:x + c]
    out = min(crop, c)
    if c != out:
        a, b = (cv2.resize(np.ascontiguousarray(t), (out, out), interpolation=cv2.INTER_AREA) for t in (a, b))
    if rng.random() < 0.5:
        a, b = a[:, ::-1], b[:, ::-1]
    if rng.random() < 0.5:
        a, b = a[::-1], b[::-1]
    k = int(rng.integers(0, 4))
    return np.rot90(a, k), np.rot90(b, k)


def sample_batch(groups: list[list[Pair]], weights: list[float], batch_size: int, crop: int, seed: int,
                 step: int, rank: int = 0, scale_min: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch for one training step, a pure function of (seed, step, rank): resuming at step k
    sees exactly the batches a straight run would, and each rank sees different crops. Each sample
    first picks a data group (one per --data root) by weight, then a pair in it."""
    rng = np.random.default_rng([seed, step, rank])
    prob = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    xs, ys = [], []
    for _ in range(batch_size):
        group = groups[int(rng.choice(len(groups), p=prob))]
        p = group[int(rng.integers(0, len(group)))]
        a, b = random_crop_pair(cached_rgb(p.blurry), cached_rgb(p.sharp), crop, rng, scale_min)
        xs.append(to_tensor(a))
        ys.append(to_tensor(b))
    c = min(min(t.shape[-2:]) for t in xs)
    return torch.stack([t[..., :c, :c] for t in xs]), torch.stack([t[..., :c, :c] for t in ys])
