"""Before | after comparison images: side by side or a movable split line, labelled (drawing only,
no windows, so it runs headless)."""
from __future__ import annotations

import numpy as np


def label(img: np.ndarray, text: str, x: int, y: int, scale: float) -> None:
    """Draw white text with a dark outline, readable on any picture, at (x, y) baseline-left."""
    import cv2

    thick = max(1, int(round(scale * 2)))
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)


def text_scale(height: int) -> float:
    """OpenCV font scale for labels whose capitals are about 5% of the picture's height (17 px at 360
    lines; side-by-side views are shown shrunk), never below 0.6 (13 px)."""
    return max(0.6, height / 450)


def compose(before: np.ndarray, after: np.ndarray, mode: str = "side", split: float = 0.5,
            labels: tuple[str, str] = ("original", "sharpened"), info: str | None = None) -> np.ndarray:
    """HxWx3 uint8 images -> one comparison image: 'side' is Hx2Wx3, 'split' is HxWx3 with the
    original left of the split line and the sharpened image right of it."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in size")
    before, after = np.ascontiguousarray(before), np.ascontiguousarray(after)
    h, w = before.shape[:2]
    scale = text_scale(h)
    if mode == "side":
        out = np.ascontiguousarray(np.concatenate([before, after], axis=1))
        label(out, labels[0], 8, int(24 * scale) + 4, scale)
        label(out, labels[1], w + 8, int(24 * scale) + 4, scale)
    elif mode == "split":
        x = int(round(np.clip(split, 0.0, 1.0) * w))
        out = after.copy()
        out[:, :x] = before[:, :x]
        out[:, max(0, x - 1):x + 1] = 255
        label(out, labels[0], 8, int(24 * scale) + 4, scale)
        label(out, labels[1], max(8, w - int(150 * scale)), int(24 * scale) + 4, scale)
    else:
        raise ValueError(f"mode must be 'side' or 'split', got {mode!r}")
    if info:
        label(out, info, 8, out.shape[0] - int(10 * scale), scale)
    return np.ascontiguousarray(out)
