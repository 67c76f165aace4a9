"""GoPro-layout pairs: finding sequences, matching blurry and sharp frames by stem, random crops.

A sequence is any folder holding an input sub-folder (blur, blur_gamma, ...) and sharp/; ROOT may
hold train/ and test/, sequences directly, or be one sequence itself."""
from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import TruesightError
from ..stills import IMAGE_EXTS, read_rgb

_NUMBERS = re.compile(r"(\d+)")


def frame_key(name: str) -> tuple[str | int, ...]:
    """Natural sort key for frame names: 2.png before 10.png, so unpadded frame numbers stay in time order."""
    # re.split with a group alternates text, number, text...: equal positions compare like with like
    return tuple(int(t) if i % 2 else t for i, t in enumerate(_NUMBERS.split(name)))


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
    seqs = sorted((p for p in root.iterdir() if p.is_dir() and _is_sequence(p)), key=lambda p: frame_key(p.name))
    if not seqs:  # ROOT with train/ and test/ but no split asked for: take both
        seqs = sorted((q for sub in ("train", "test") if (root / sub).is_dir()
                       for q in (root / sub).iterdir() if q.is_dir() and _is_sequence(q)),
                      key=lambda q: (q.parent.name, frame_key(q.name)))
    return seqs


def sequence_pairs(seq: Path, inputs: tuple[str, ...]) -> list[Pair]:
    """Pairs of one sequence for each input folder that exists there, matched by file stem."""
    sharp = _images(seq / "sharp")
    pairs = []
    for name in inputs:
        if not (seq / name).is_dir():
            continue
        blurry = _images(seq / name)
        pairs += [Pair(blurry[s], sharp[s], seq.name) for s in sorted(blurry, key=frame_key) if s in sharp]
    return pairs


def find_pairs(roots: list[str | os.PathLike], inputs: tuple[str, ...] = ("blur_gamma",),
               split: str | None = None, flag: str = "--input") -> list[Pair]:
    """All pairs under the roots; a clear error, naming the option that chose the inputs, when there are none."""
    pairs: list[Pair] = []
    for root in roots:
        seqs = find_sequences(root, split)
        found = [p for s in seqs for p in sequence_pairs(s, inputs)]
        if not found:
            have = sorted({d.name for s in seqs for d in s.iterdir() if d.is_dir()}) if seqs else []
            hint = f" (sub-folders there: {', '.join(have)}; choose one with {flag})" if have else ""
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
    held = {(s, st) for s, stems in by_seq.items() for st in sorted(stems, key=frame_key)[-n:]}
    for p in pairs:
        (val if (p.sequence, p.sharp.stem) in held else train).append(p)
    return train, val


def _memory_bytes() -> int:
    """This machine's memory, or the container's limit where that is lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): a size any training box has
        total = 8 << 30
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def default_cache_bytes() -> int:
    """The training image cache's budget: half the memory shared by this box's ranks, at most 16 GiB each."""
    ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))  # set by torchrun
    return min(_memory_bytes() // 2 // ranks, 16 << 30)


class ImageCache:
    """Decoded images by path, least recently used dropped first once their bytes pass max_bytes."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes, self.bytes = max_bytes, 0
        self._items: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # batches may be built on a prefetch thread and on the caller's

    def __len__(self) -> int:
        return len(self._items)

    def get(self, path: Path) -> np.ndarray:
        """The image at path, decoded once while it stays in the budget; read-only."""
        with self._lock:
            a = self._items.get(path)
            if a is not None:
                self._items.move_to_end(path)
                return a
        a = read_rgb(path)
        a.setflags(write=False)
        with self._lock:
            if path not in self._items and a.nbytes <= self.max_bytes:  # one too large would empty the cache
                self._items[path] = a
                self.bytes += a.nbytes
                while self.bytes > self.max_bytes:
                    self.bytes -= self._items.popitem(last=False)[1].nbytes
        return a


# bounded by bytes, not images: a mix holds 640x360 and 1280x720 pairs, and a count that fits one
# size's memory held a third of ftC3's ten-set mix (its data path 46 ms a step, now 15: benchmarks/cache_ab.py)
_CACHE = ImageCache(default_cache_bytes())


def cached_rgb(path: Path) -> np.ndarray:
    """read_rgb with an in-memory cache (training revisits the same frames every epoch)."""
    return _CACHE.get(path)


def unique_name(name: str, taken: Container[str]) -> str:
    """name, or name_2, name_3... the first not in taken (two roots or sources named alike)."""
    k, candidate = 1, name
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    return candidate


def check_same_size(blurry: np.ndarray, sharp: np.ndarray, pair: Pair) -> None:
    """A TruesightError naming both files when a pair's images differ in size (crops would not line up)."""
    if blurry.shape[:2] != sharp.shape[:2]:
        (h1, w1), (h2, w2) = blurry.shape[:2], sharp.shape[:2]
        raise TruesightError(f"{pair.blurry} is {w1}x{h1} but {pair.sharp} is {w2}x{h2}: a pair must be one size")


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """A pair's (blurry, sharp) images, cached, checked to be the same size."""
    blurry, sharp = cached_rgb(pair.blurry), cached_rgb(pair.sharp)
    check_same_size(blurry, sharp, pair)
    return blurry, sharp


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


def _stack(xs: list[torch.Tensor], ys: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    c = min(min(t.shape[-2:]) for t in xs)
    return torch.stack([t[..., :c, :c] for t in xs]), torch.stack([t[..., :c, :c] for t in ys])


def sample_batch(groups: list[list[Pair]], weights: list[float], batch_size: int, crop: int, seed: int,
                 step: int, rank: int = 0, scale_min: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch for one training step with the "random" sampler (pairs drawn with replacement; ranks
    may draw the same pair), a pure function of (seed, step, rank): resuming at step k sees exactly the
    batches a straight run would. Each sample first picks a data group (one per --data root) by
    weight, then a pair in it. Runs whose checkpoints predate the "epoch" sampler resume with it."""
    rng = np.random.default_rng([seed, step, rank])
    prob = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    xs, ys = [], []
    for _ in range(batch_size):
        group = groups[int(rng.choice(len(groups), p=prob))]
        p = group[int(rng.integers(0, len(group)))]
        a, b = random_crop_pair(*load_pair(p), crop, rng, scale_min)
        xs.append(to_tensor(a))
        ys.append(to_tensor(b))
    return _stack(xs, ys)


_NOISE = 2**32 - 2  # the input-noise stream, apart from the crop streams [seed, step, rank]


def add_input_noise(x: torch.Tensor, max_levels: float, seed: int, step: int, rank: int = 0) -> torch.Tensor:
    """A noisy copy of a batch of inputs: Gaussian noise with sigma uniform in [0, max_levels] of 255 per
    image, rounded back to 8-bit levels as real inputs are. A pure function of (seed, step, rank)."""
    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, step, rank, _NOISE]).integers(2**62)))
    sigma = torch.rand(x.shape[0], 1, 1, 1, generator=g) * (max_levels / 255.0)
    noisy = x + sigma * torch.randn(x.shape, generator=g)
    return noisy.mul_(255.0).round_().clamp_(0, 255).div_(255.0)


_ORDER = 2**32 - 1  # seeds the sampler's own streams apart from the per-rank crop streams [seed, step, rank]


class EpochSampler:
    """Which pairs every rank trains on at every step, DistributedSampler-style. Each data group (one
    per --data root) is walked in a new permutation on every pass over it, seeded by (seed, group,
    pass). A step's global batch has batch_size x world slots; each slot's group is drawn by --mix
    weight from (seed, step) alone, and takes the next pair of that group's walk; rank r gets slots
    r*batch_size .. (r+1)*batch_size - 1. So no pair repeats within a pass over its group, on any rank
    or step, and the order is a pure function of (seed, step, world): a resumed run sees the pairs a
    straight run would."""

    def __init__(self, sizes: list[int], weights: list[float], batch_size: int, world: int, seed: int) -> None:
        if not sizes or min(sizes) < 1:
            raise TruesightError("every data group needs at least one pair")
        self.sizes, self.batch_size, self.world, self.seed = list(sizes), batch_size, world, seed
        self.prob = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.slots = batch_size * world
        self._step, self._used = 0, np.zeros(len(sizes), np.int64)  # draws from each group before self._step
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def _groups(self, step: int) -> np.ndarray:
        """The group of each global slot of a step."""
        if len(self.sizes) == 1:
            return np.zeros(self.slots, np.int64)
        return np.random.default_rng([self.seed, step, _ORDER]).choice(len(self.sizes), self.slots, p=self.prob)

    def _advance(self, step: int) -> None:
        if step < self._step:
            self._step, self._used = 0, np.zeros(len(self.sizes), np.int64)
        if len(self.sizes) == 1:
            self._step, self._used = step, np.array([step * self.slots], np.int64)
        while self._step < step:  # a resume at step k replays k cheap draws of slot groups, once
            self._used += np.bincount(self._groups(self._step), minlength=len(self.sizes))
            self._step += 1

    def _perm(self, group: int, walk: int) -> np.ndarray:
        key = (group, walk)
        if key not in self._perms:
            if len(self._perms) > 4 * len(self.sizes):
                self._perms.clear()
            self._perms[key] = np.random.default_rng([self.seed, group, walk, _ORDER]).permutation(self.sizes[group])
        return self._perms[key]

    def picks(self, step: int, rank: int) -> list[tuple[int, int]]:
        """(group, pair index) of each of rank's batch_size samples at a step."""
        self._advance(step)
        groups = self._groups(step)
        used = self._used.copy()
        out = []
        for slot, g in enumerate(groups):
            if rank * self.batch_size <= slot < (rank + 1) * self.batch_size:
                walk, i = divmod(int(used[g]), self.sizes[g])
                out.append((int(g), int(self._perm(int(g), walk)[i])))
            used[g] += 1
        return out


def sharded_batch(groups: list[list[Pair]], sampler: EpochSampler, crop: int, seed: int, step: int,
                  rank: int = 0, scale_min: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch for one training step with the "epoch" sampler: the sampler's pairs for this rank,
    each cropped, flipped and rotated from the random stream (seed, step, rank)."""
    rng = np.random.default_rng([seed, step, rank])
    xs, ys = [], []
    for g, i in sampler.picks(step, rank):
        p = groups[g][i]
        a, b = random_crop_pair(*load_pair(p), crop, rng, scale_min)
        xs.append(to_tensor(a))
        ys.append(to_tensor(b))
    return _stack(xs, ys)
