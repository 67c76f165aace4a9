"""Still images in, sharpened still images out (OpenCV's codecs only, never its GUI)."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .errors import ParameterError, TruesightError
from .fsutil import atomic_path
from .stillmeta import (StillMeta, fits, grey_alpha_png, grey_transparent_level, jpeg_complete, meta_of,
                        orientation, png_colour_type, upright_exif, with_meta)

log = logging.getLogger("truesight_video")

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".tif", ".tiff"}


def is_image(path: str | os.PathLike) -> bool:
    """Whether a path names a still image by its extension."""
    return Path(path).suffix.lower() in IMAGE_EXTS


def _decode(data: bytes, flags: int) -> np.ndarray | None:
    """OpenCV's decode of a file's bytes (cv2.imread crashes the process on a file name that is not UTF-8)."""
    import cv2

    with opencv_silent():
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def _read(path: str | os.PathLike, flags: int) -> tuple[np.ndarray, bytes]:
    """Decode an image file, or raise a one-line TruesightError; also its bytes."""
    p = Path(path)
    if not p.is_file():
        raise TruesightError(f"image not found: {path}")
    data = p.read_bytes()
    if data.startswith(b"\xff\xd8") and not jpeg_complete(data):  # OpenCV may decode it, grey where it stops
        raise TruesightError(f"truncated image {path}: its JPEG data stops before its end")
    img = _decode(data, flags)
    if img is None:
        raise TruesightError(f"not a readable image: {path}")
    return img, data


@contextmanager
def opencv_silent() -> Iterator[None]:
    """OpenCV's own log off for a moment (cv2.utils.logging since 4.9/5.0, cv2.setLogLevel before): a TIFF tag
    it skips, a format it falls back from; the errors that matter come back as None or False, said in one line."""
    import cv2

    log = getattr(cv2.utils, "logging", None)
    get, put, silent = ((log.getLogLevel, log.setLogLevel, log.LOG_LEVEL_SILENT) if log is not None
                        else (cv2.getLogLevel, cv2.setLogLevel, 0))
    level = get()
    put(silent)
    try:
        yield
    finally:
        put(level)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as HxWx3 RGB uint8 (16-bit images are scaled down)."""
    import cv2

    img, _ = _read(path, cv2.IMREAD_COLOR_RGB if hasattr(cv2, "IMREAD_COLOR_RGB") else cv2.IMREAD_COLOR)
    if not hasattr(cv2, "IMREAD_COLOR_RGB"):
        img = img[..., ::-1]
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0).round().astype(np.uint8)
    return np.ascontiguousarray(img)


def _write(path: Path, img: np.ndarray, meta: StillMeta = StillMeta(), quick: bool = False,
           durable: bool = True) -> None:
    """Encode an image by its path's extension and write it atomically, meta added (JPEG, PNG)."""
    import cv2

    if img.ndim == 3 and img.shape[2] == 2:  # grey + alpha, for a PNG (write_still)
        data = grey_alpha_png(img, 1 if quick else 6)
    else:
        params = _write_params(path, meta) + ([cv2.IMWRITE_PNG_COMPRESSION, 1] if quick else [])
        try:
            with opencv_silent():
                ok, enc = cv2.imencode(path.suffix, np.ascontiguousarray(img), params)
        except cv2.error:
            ok = False
        if not ok:
            raise TruesightError(f"cannot write image {path}: OpenCV has no {path.suffix or 'extensionless'} writer")
        data = enc.tobytes()
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(with_meta(data, meta))


def check_writable(path: str | os.PathLike) -> None:
    """Refuse, before any work, a still output whose extension OpenCV cannot encode (.mp4, none)."""
    import cv2

    p = Path(path)
    if not p.suffix or not cv2.haveImageWriter("x" + p.suffix):  # the name itself may not be UTF-8
        raise ParameterError("output", f"{p.name}: a still image is written as .png, .jpg, .webp, .tif or .bmp")


def write_rgb(path: str | os.PathLike, rgb: np.ndarray, *, quick: bool = False, durable: bool = True) -> None:
    """Write HxWx3 RGB uint8 atomically (quick: a PNG at the fastest compression; not durable: not flushed
    to disk, for a live preview's frames); any file name, since the bytes are encoded in memory (OpenCV's
    own writer crashes on a name that is not UTF-8)."""
    _write(Path(path), rgb[..., ::-1], quick=quick, durable=durable)


def _write_params(path: Path, meta: StillMeta) -> list[int]:
    import cv2

    ext = path.suffix.lower()
    if ext in LOSSY_8BIT:
        # the input JPEG's chroma resolution, where it had more than OpenCV's 4:2:0 (a camera's 4:4:4 or 4:2:2)
        factor = {(1, 1): "444", (2, 1): "422", (1, 2): "440"}.get(meta.jpeg_sampling or (2, 2))
        key = getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{factor}", None) if factor else None
        return [cv2.IMWRITE_JPEG_QUALITY, 95] + ([cv2.IMWRITE_JPEG_SAMPLING_FACTOR, key] if key else [])
    if ext == ".webp":
        return [cv2.IMWRITE_WEBP_QUALITY, 101]  # > 100 means lossless
    return []


@dataclass(frozen=True)
class Still:
    """A still image as the model takes it (RGB float in [0,1]) and what its file has besides: an alpha
    plane kept as is, 16-bit depth, a single grey channel, its colour profile and EXIF, so the output is
    written the same way."""

    rgb: np.ndarray  # HxWx3 float32
    alpha: np.ndarray | None
    bits: int
    gray: bool
    meta: StillMeta = StillMeta()  # its EXIF orientation describes rgb as held (1 once turned upright)


LOSSY_8BIT = {".jpg", ".jpeg"}  # formats OpenCV writes at 8 bits without alpha
DEEP_EXTS = {".png", ".tif", ".tiff"}  # formats OpenCV writes 16 bits into (others saturate them)
ALPHA_EXTS = {".png", ".webp", ".tif", ".tiff", ".bmp"}


def read_still(path: str | os.PathLike) -> Still:
    """Read an image for sharpening, keeping its alpha, bit depth and greyness, upright as a viewer shows it."""
    import cv2

    # ANYDEPTH | ANYCOLOR keeps 16 bits and grey and turns a phone photo upright by its EXIF orientation;
    # only UNCHANGED keeps alpha, and it ignores the orientation: used where a fourth channel is there
    shown, data = _read(path, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    img = shown
    if Path(path).suffix.lower() in ALPHA_EXTS:
        full = _decode(data, cv2.IMREAD_UNCHANGED)
        if full is not None and full.ndim == 3 and full.shape[2] == 4:
            img = _turned_as(full, shown)
    meta = meta_of(data)
    if meta.exif is not None and orientation(meta.exif) > 1:
        # which formats OpenCV turns by their EXIF depends on its version: see whether it did
        raw = _decode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if raw is not None and (raw.shape != shown.shape or not np.array_equal(raw, shown)):
            meta = replace(meta, exif=upright_exif(meta.exif))
    if img.dtype not in (np.uint8, np.uint16):
        raise TruesightError(f"{path}: {img.dtype} images are not supported (8- or 16-bit only)")
    top = 65535.0 if img.dtype == np.uint16 else 255.0
    alpha = img[..., 3].copy() if img.ndim == 3 and img.shape[2] == 4 else None
    one_channel = img.ndim == 2 or img.shape[2] == 1
    # OpenCV reads a grey + alpha PNG as BGRA, its three colours equal
    gray = one_channel or (alpha is not None and png_colour_type(data) == 4)
    level = grey_transparent_level(data) if img.ndim == 2 else None
    if level is not None:
        alpha = np.where(img == level, 0, int(top)).astype(img.dtype)
    if one_channel:
        bgr = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
    else:
        bgr = img[..., :3]
    rgb = np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32) / top
    # a profile goes into JPEG and PNG only, and grey is written grey there (with alpha: PNG's grey + alpha)
    if meta.icc is not None and not fits(meta.icc, gray):
        meta = replace(meta, icc=None)
    return Still(rgb, alpha, 16 if img.dtype == np.uint16 else 8, gray, meta)


def _turned_as(stored: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """A picture with alpha, read as stored, turned and flipped as OpenCV turned its colour by the file's
    orientation (EXIF in JPEG, PNG and WebP, TIFF's own tag): the one of the eight that matches it, else
    as stored. Kept as stored, a side-by-side was turned whole and WebP and TIFF came out sideways."""
    colour = stored[..., :3] if shown.ndim == 3 else stored[..., 0]
    for flip in (False, True):
        for k in range(4):
            candidate = np.rot90(colour[:, ::-1] if flip else colour, k)
            if candidate.shape[:2] == shown.shape[:2] and np.array_equal(candidate, shown.reshape(candidate.shape)):
                return np.ascontiguousarray(np.rot90(stored[:, ::-1] if flip else stored, k))
    return stored


def write_still(path: str | os.PathLike, rgb: np.ndarray, like: Still) -> None:
    """Write float RGB in [0,1] atomically as `like` was stored (alpha re-attached, depth, grey), as far
    as the output format allows (JPEG: 8-bit, no alpha; said in a warning)."""
    import cv2

    p = Path(path)
    ext = p.suffix.lower()
    eight = ext not in DEEP_EXTS or like.bits == 8
    if ext in LOSSY_8BIT and (like.bits == 16 or like.alpha is not None):
        log.warning("%s: JPEG holds 8 bits and no alpha; written without them", p.name)
    elif like.bits == 16 and eight:
        log.warning("%s: %s is written at 8 bits here; the input has 16", p.name, ext)
    top, dtype = (255.0, np.uint8) if eight else (65535.0, np.uint16)
    out = np.clip(rgb, 0.0, 1.0)
    if like.gray:
        out = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_RGB2GRAY)[..., None]
    else:
        out = out[..., ::-1]
    out = (out * top).round().astype(dtype)
    alpha = like.alpha
    if alpha is not None and p.suffix.lower() not in LOSSY_8BIT:
        if alpha.shape[1] != out.shape[1]:  # side by side: the alpha of both halves
            alpha = np.concatenate([alpha] * (out.shape[1] // alpha.shape[1]), axis=1)
        if alpha.dtype != dtype:
            alpha = (alpha.astype(np.float32) * (top / (65535.0 if alpha.dtype == np.uint16 else 255.0))).round().astype(dtype)
        if like.gray and ext != ".png":  # only PNG has grey + alpha
            out = np.repeat(out, 3, axis=2)
        out = np.concatenate([out, alpha[..., None]], axis=2)
    _write(p, out, like.meta)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 (or float in [0,1]) -> 1x3xHxW float in [0,1]."""
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0).float()
    return t.div_(255.0) if rgb.dtype == np.uint8 else t


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW float in [0,1] -> HxWx3 uint8."""
    return x[0].float().clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()


def to_uint8_rgb(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0,1] -> uint8."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0).round().astype(np.uint8)
