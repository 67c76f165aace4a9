"""Still images in, sharpened still images out (OpenCV's codecs only, never its GUI)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .errors import TruesightError
from .fsutil import atomic_path

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def is_image(path: str | os.PathLike) -> bool:
    """Whether a path names a still image by its extension."""
    return Path(path).suffix.lower() in IMAGE_EXTS


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as HxWx3 RGB uint8 (16-bit images are scaled down)."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise TruesightError(f"image not found: {path}")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR_RGB if hasattr(cv2, "IMREAD_COLOR_RGB") else cv2.IMREAD_COLOR)
    if img is None:
        raise TruesightError(f"not a readable image: {path}")
    if not hasattr(cv2, "IMREAD_COLOR_RGB"):
        img = img[..., ::-1]
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0).round().astype(np.uint8)
    return np.ascontiguousarray(img)


def write_rgb(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write HxWx3 RGB uint8 atomically."""
    import cv2

    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(rgb[..., ::-1]), _write_params(Path(path))):
            raise TruesightError(f"cannot write image {path}")


def _write_params(path: Path) -> list[int]:
    import cv2

    ext = path.suffix.lower()
    if ext in (".jpg", ".jpeg"):
        return [cv2.IMWRITE_JPEG_QUALITY, 95]
    if ext == ".webp":
        return [cv2.IMWRITE_WEBP_QUALITY, 101]  # > 100 means lossless
    return []


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [0,1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW float in [0,1] -> HxWx3 uint8."""
    return x[0].float().clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()
