"""Synthetic GoPro-style pairs: a 240 fps camera's consecutive sub-frames averaged into a blurry frame,
the centre sub-frame being the sharp one.

From sharp photos the exposure is rendered along a random camera path, sampled densely enough that
it is continuous motion rather than a few ghosted copies; sometimes an object moves on its own.
Every default below was measured with a real GoPro-trained deblurrer as the judge (`eval --teacher`,
benchmarks/QUALITY.md): sRGB averaging (the GoPro set's `blur`) over averaging in linear light,
continuous over 7-13 discrete copies, GoPro-sized blur (8-20 px at 640x360), photos softened like a
video camera's optics, light sensor noise drawn per camera frame, and no JPEG. `blur_gamma` (averaged in linear light
through the camera response curve) is written too. Sharp->sharp pairs teach the model to leave
sharp content alone."""
from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError, TruesightError
from ..stills import write_rgb
from .data import IMAGE_EXTS, read_rgb


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the synthesis; defaults are the recipe the teacher recognises best (QUALITY.md)."""

    width: int = 640
    height: int = 360
    min_subframes: int = 7
    max_subframes: int = 13
    substeps: float = 4.0  # samples per pixel of motion (0: only the 7-13 sub-frames, ghosted copies)
    max_blur: float = 0.027  # longest camera path, as a fraction of the frame diagonal (20 px at 640x360)
    min_blur: float = 0.011  # shortest camera path of a moving pair (8 px at 640x360)
    curve: float = 0.15  # bend of the path, as a fraction of its length (0: a straight line)
    rotation: float = 0.25  # degrees of roll over the exposure (standard deviation)
    soften: float = 0.7  # Gaussian sigma in px applied to the photo: a video camera's optics, not a still's
    sharp_fraction: float = 0.1
    object_prob: float = 0.3
    highlight_prob: float = 0.5
    noise: float = 0.1  # sensor noise scale, drawn per camera frame (0 disables)
    jpeg_prob: float = 0.0
    crf_gamma: tuple[float, float] = (2.0, 2.6)


def encode(lin: np.ndarray, gamma: float) -> np.ndarray:
    """Linear light -> camera signal in [0,1]: a power-law response curve with the given gamma."""
    import cv2

    x = np.clip(lin, 0.0, 1.0).astype(np.float32, copy=False)
    if x.ndim <= 3:
        return cv2.pow(x, 1.0 / gamma)  # several times faster than numpy's power on float32
    return np.stack([cv2.pow(f, 1.0 / gamma) for f in x])


def decode(sig: np.ndarray, gamma: float) -> np.ndarray:
    """Camera signal in [0,1] -> linear light (inverse of encode)."""
    return np.clip(sig, 0.0, 1.0) ** gamma


def _samples(length: float, rng: np.random.Generator, cfg: SynthConfig) -> int:
    """How many sub-frames render the exposure: an odd count, so the centre one is the sharp frame."""
    n = int(rng.choice(np.arange(cfg.min_subframes, cfg.max_subframes + 1, 2)))
    if cfg.substeps > 0:
        n = max(n, int(math.ceil(length * cfg.substeps)))
    return n | 1


def _path(rng: np.random.Generator, cfg: SynthConfig, w: int, h: int) -> np.ndarray:
    """(n, 2, 3) affine matrices along a smooth random camera path; the centre one is the identity."""
    diag = float(np.hypot(w, h))
    length = diag * (cfg.min_blur + (cfg.max_blur - cfg.min_blur) * rng.random())
    ang = rng.uniform(0, 2 * np.pi)
    bend = rng.normal(0, 1, 2) * cfg.curve * length
    roll = np.deg2rad(rng.normal(0, 1) * cfg.rotation)
    n = _samples(length, rng, cfg)
    t = np.linspace(-0.5, 0.5, n)
    d = np.array([np.cos(ang), np.sin(ang)]) * length
    cx, cy = w / 2, h / 2
    mats = []
    for k, tk in enumerate(t):
        tx, ty = (d * tk + bend * tk**2) if k != n // 2 else (0.0, 0.0)
        a = roll * tk
        c, si = np.cos(a), np.sin(a)
        mats.append([[c, -si, cx - c * cx + si * cy + tx], [si, c, cy - si * cx - c * cy + ty]])
    return np.asarray(mats, dtype=np.float64)


def _warp(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def render_subframes(photo: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, float]:
    """Linear-light sub-frames (n,H,W,3) of one exposure, may exceed 1 in highlights, and the gamma."""
    import cv2

    gamma = float(rng.uniform(*cfg.crf_gamma))
    img = photo.astype(np.float32) / 255.0
    if cfg.soften > 0:
        img = cv2.GaussianBlur(img, (0, 0), cfg.soften)
    lin = decode(img, gamma).astype(np.float32)
    if rng.random() < cfg.highlight_prob:  # things brighter than the sensor's white
        lum = lin.mean(-1, keepdims=True)
        lin = lin * np.where(lum > 0.8, rng.uniform(1.5, 4.0), 1.0).astype(np.float32)
    h, w = lin.shape[:2]
    if rng.random() < cfg.sharp_fraction:
        return lin[None], gamma
    mats = _path(rng, cfg, w, h)
    subs = np.empty((len(mats), *lin.shape), np.float32)
    for k, m in enumerate(mats):
        subs[k] = lin if k == len(mats) // 2 else _warp(lin, m)
    if rng.random() < cfg.object_prob:
        _add_object(subs, lin, rng, cfg)
    return subs, gamma


def _add_object(subs: np.ndarray, lin: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> None:
    """Paste an elliptical patch that moves on its own straight path (sub-pixel, as long as up to twice
    the camera's) across the sub-frames: a subject moving against the scene."""
    import cv2

    n, h, w = subs.shape[:3]
    ow, oh = int(rng.uniform(0.1, 0.3) * w), int(rng.uniform(0.1, 0.3) * h)
    sy, sx = int(rng.integers(0, h - oh)), int(rng.integers(0, w - ow))
    y0, x0 = int(rng.integers(0, h - oh)), int(rng.integers(0, w - ow))
    layer = np.zeros_like(lin)
    layer[y0:y0 + oh, x0:x0 + ow] = lin[sy:sy + oh, sx:sx + ow][::-1]  # flipped so it differs from the background
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (x0 + ow // 2, y0 + oh // 2), (ow // 2 - 1, oh // 2 - 1), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
    length = float(np.hypot(w, h)) * rng.uniform(cfg.min_blur, 2 * cfg.max_blur)
    ang = rng.uniform(0, 2 * np.pi)
    v = np.array([np.cos(ang), np.sin(ang)]) * length
    for k in range(n):
        tk = k / max(n - 1, 1) - 0.5
        m = np.array([[1.0, 0.0, v[0] * tk], [0.0, 1.0, v[1] * tk]])
        a = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        p = cv2.warpAffine(layer, m, (w, h), flags=cv2.INTER_LINEAR)
        subs[k] = subs[k] * (1 - a) + p * a


def _noisy(lin: np.ndarray, rng: np.random.Generator, level: float) -> np.ndarray:
    """Poisson-Gaussian sensor noise in linear light."""
    if level <= 0:
        return lin
    shot = rng.uniform(0.0005, 0.003) * level
    read = rng.uniform(0.0005, 0.002) * level
    sigma = np.sqrt(np.clip(lin, 0, None) * shot + read**2)
    return lin + rng.standard_normal(lin.shape, dtype=np.float32) * sigma.astype(np.float32)


def _frame_noise(subs: np.ndarray, rng: np.random.Generator, level: float, frames: int) -> np.ndarray:
    """Sensor noise per camera frame, in place: the samples that render one 240 fps frame's own exposure
    share its readout noise (and drawing it per frame, not per sample, keeps synthesis fast)."""
    if level <= 0:
        return subs
    n = len(subs)
    edges = -(-np.arange(min(n, frames) + 1) * n // min(n, frames))  # contiguous runs of samples
    for a, b in zip(edges[:-1], edges[1:]):
        mean = subs[a:b].mean(0)
        subs[a:b] += _noisy(mean, rng, level) - mean
    return subs


def _jpeg(img8: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


def to8(x: np.ndarray) -> np.ndarray:
    """[0,1] float -> uint8."""
    return (np.clip(x, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def make_pair(photo: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> dict[str, np.ndarray]:
    """{'blur', 'blur_gamma', 'sharp'} uint8 RGB images of one synthetic exposure."""
    subs, gamma = render_subframes(photo, rng, cfg)
    frames = int(rng.choice(np.arange(cfg.min_subframes, cfg.max_subframes + 1, 2)))
    subs = _frame_noise(subs, rng, cfg.noise, frames)
    n = len(subs)
    sharp = encode(subs[n // 2], gamma)
    blur_gamma = encode(subs.mean(0), gamma)  # averaged in linear light, clipped once: highlights stay white
    blur = sum(encode(f, gamma) for f in subs) / n  # averaged in the camera's encoded signal
    out = {"sharp": to8(sharp), "blur_gamma": to8(blur_gamma), "blur": to8(blur)}
    if rng.random() < cfg.jpeg_prob:
        q = int(rng.integers(70, 96))
        out["blur_gamma"], out["blur"] = _jpeg(out["blur_gamma"], q), _jpeg(out["blur"], q)
    return out


def _crop(img: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) > 2 * max(cfg.width, cfg.height):  # very large photos: downscale first (removes JPEG traces)
        import cv2

        f = 1.5 * max(cfg.width / w, cfg.height / h)
        img = cv2.resize(img, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    ch, cw = min(cfg.height, h), min(cfg.width, w)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return img[y:y + ch, x:x + cw]


def list_photos(source: str | os.PathLike) -> list[Path]:
    """Image files under a folder (recursively), sorted."""
    src = Path(source)
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise TruesightError(f"--from not found: {source}")
    photos = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    if not photos:
        raise TruesightError(f"no photos (png/jpg/webp) under {source}")
    return photos


def video_groups(path: Path, rng: np.random.Generator, cfg: SynthConfig) -> Iterator[list[np.ndarray]]:
    """Groups of 7-13 consecutive frames of a high-frame-rate video (PyAV loaded only here)."""
    from ..media import iter_rgb

    group: list[np.ndarray] = []
    n = int(rng.choice(np.arange(cfg.min_subframes, cfg.max_subframes + 1, 2)))
    for frame in iter_rgb(path):
        group.append(frame)
        if len(group) == n:
            yield group
            group = []
            n = int(rng.choice(np.arange(cfg.min_subframes, cfg.max_subframes + 1, 2)))


def pair_from_frames(frames: list[np.ndarray], rng: np.random.Generator, cfg: SynthConfig) -> dict[str, np.ndarray]:
    """Average consecutive video frames (already camera-encoded) into one GoPro-style pair."""
    gamma = float(rng.uniform(*cfg.crf_gamma))
    sig = np.stack([f.astype(np.float32) / 255.0 for f in frames])
    lin = decode(sig, gamma)
    return {"sharp": frames[len(frames) // 2].copy(), "blur_gamma": to8(encode(lin.mean(0), gamma)),
            "blur": to8(sig.mean(0))}


def _sequence(seed: int, i: int, per_sequence: int) -> str:
    return f"SYNT{seed % 10000:04d}_{i // per_sequence:02d}_00"


def claim_sequences(root: Path, seqs: Iterable[str], overwrite: bool) -> None:
    """Refuse sequence folders this run would write that already hold files (two recipes would mix in
    one sequence), or with overwrite empty them first."""
    existing = [root / s for s in dict.fromkeys(seqs) if (root / s).is_dir() and any((root / s).iterdir())]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise TruesightError(f"{existing[0]}{more} already holds pairs: -y replaces them, another --out keeps them")
    for d in existing:
        shutil.rmtree(d)


def write_pair(root: Path, seq: str, index: int, pair: dict[str, np.ndarray]) -> None:
    """Write one pair as ROOT/SEQ/{blur,blur_gamma,sharp}/NNNNNN.png, each image atomically."""
    for kind, img in pair.items():
        d = root / seq / kind
        d.mkdir(parents=True, exist_ok=True)
        write_rgb(d / f"{index:06d}.png", img, quick=True)


def synthesize(source: str | os.PathLike, out: str | os.PathLike, count: int, seed: int = 0,
               cfg: SynthConfig = SynthConfig(), split: str = "train", per_sequence: int = 100,
               progress: bool = True, overwrite: bool = False) -> int:
    """Write count GoPro-layout pairs under OUT/split/ from photos (or a high-fps video)."""
    from tqdm import tqdm

    if count < 1:
        raise TruesightError(f"--count must be >= 1, got {count}")
    if split not in ("train", "test"):
        raise ParameterError("split", f"must be train or test (what train and eval read), got {split!r}")
    rng = np.random.default_rng(seed)
    root = Path(out) / split
    src = Path(source)
    is_video = src.is_file() and src.suffix.lower() not in IMAGE_EXTS
    photos = [] if is_video else list_photos(src)
    groups = video_groups(src, rng, cfg) if is_video else None
    claim_sequences(root, (_sequence(seed, i, per_sequence) for i in range(count)), overwrite)
    written = 0
    for i in tqdm(range(count), unit="pair", disable=not progress, desc="synth"):
        if groups is not None:
            frames = next(groups, None)
            if frames is None:
                break
            pair = pair_from_frames(frames, rng, cfg)
        else:
            # pair i takes its photo and crop from one stream and its motion from another, so recipes
            # that differ in one knob render the same photos: their teacher gains compare pair by pair
            pick, render = np.random.default_rng([seed, i, 0]), np.random.default_rng([seed, i, 1])
            photo = read_rgb(photos[int(pick.integers(0, len(photos)))])
            pair = make_pair(_crop(photo, pick, cfg), render, cfg)
        write_pair(root, _sequence(seed, i, per_sequence), i % per_sequence, pair)
        written += 1
    return written
