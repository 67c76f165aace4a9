"""YUV <-> RGB conversion in torch, so it runs on the GPU as well as on the CPU."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# (Kr, Kb) luma coefficients by FFmpeg AVColorSpace value.
_MATRICES = {
    1: (0.2126, 0.0722),  # BT.709
    4: (0.30, 0.11),  # FCC
    5: (0.299, 0.114),  # BT.470BG (BT.601 625)
    6: (0.299, 0.114),  # SMPTE 170M (BT.601 525)
    7: (0.212, 0.087),  # SMPTE 240M
    9: (0.2627, 0.0593),  # BT.2020 non-constant luminance
    10: (0.2627, 0.0593),  # BT.2020 constant luminance, approximated as NCL
}
BT709, BT601 = 1, 6
RANGE_LIMITED, RANGE_FULL = 1, 2


@dataclass(frozen=True)
class ColourSpec:
    """How a planar YUV frame maps to RGB: matrix (AVColorSpace), range and bit depth."""

    matrix: int = BT709
    full_range: bool = False
    bits: int = 8

    @property
    def max_code(self) -> int:
        return (1 << self.bits) - 1


@dataclass(frozen=True)
class OutputPlanes:
    """The planes an encoder takes: bit depth and chroma subsampling (rows, columns per sample)."""

    bits: int = 8
    chroma_div: tuple[int, int] = (2, 2)


def resolve_spec(colorspace: int, color_range: int, height: int, bits: int, pix_fmt: str) -> ColourSpec:
    """Pick the matrix and range for a stream, filling in FFmpeg's 'unspecified' the usual way."""
    matrix = colorspace if colorspace in _MATRICES else (BT709 if height > 576 else BT601)
    full = color_range == RANGE_FULL or (color_range != RANGE_LIMITED and pix_fmt.startswith("yuvj"))
    return ColourSpec(matrix=matrix, full_range=full, bits=bits)


# A stream stored as RGB (PNG, QuickTime RLE, FFV1 bgr0) is converted to YUV by us, with this matrix at
# full range (no codes lost), and back the same way; its own tags say nothing about YUV
RGB_WORK_MATRIX = BT709
# FFmpeg AVColorSpace -> swscale's SWS_CS_* (what VideoFrame.reformat takes)
SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}


def info_spec(info: object) -> ColourSpec:
    """resolve_spec for anything carrying a stream's colorspace, color_range, height, bits, work_fmt
    (and rgb: stored as RGB, so its work planes are ours, BT.709 full range)."""
    if getattr(info, "rgb", False):
        return ColourSpec(matrix=RGB_WORK_MATRIX, full_range=True, bits=info.bits)  # type: ignore[attr-defined]
    return resolve_spec(info.colorspace, info.color_range, info.height, info.bits, info.work_fmt)  # type: ignore[attr-defined]


def sws_args(spec: ColourSpec) -> tuple[int, int]:
    """(swscale matrix, range) for VideoFrame.reformat's colorspace and color_range arguments."""
    return SWS_MATRIX.get(spec.matrix, 1), RANGE_FULL if spec.full_range else RANGE_LIMITED


def _scales(spec: ColourSpec) -> tuple[float, float, float, float]:
    """Return (y_offset, y_scale, c_offset, c_scale) in code values."""
    k = 1 << (spec.bits - 8)
    if spec.full_range:
        return 0.0, float(spec.max_code), float(128 * k), float(spec.max_code)
    return float(16 * k), float(219 * k), float(128 * k), float(224 * k)


def yuv_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, spec: ColourSpec) -> torch.Tensor:
    """Convert integer planes (B,H,W), (B,Hc,Wc) to float RGB (B,3,H,W) in [0,1]."""
    kr, kb = _MATRICES[spec.matrix]
    kg = 1.0 - kr - kb
    yo, ys, co, cs = _scales(spec)
    h, w = y.shape[-2:]
    # fp16 holds every code of 8-bit video (and halves the GPU's traffic); above 2048 it skips integers,
    # so 10- and 12-bit codes would move before any sharpening
    dtype = torch.float32 if y.device.type == "cpu" or spec.bits > 8 else torch.float16
    yf = (y.to(dtype) - yo) / ys
    cb = (u.to(dtype) - co) / cs
    cr = (v.to(dtype) - co) / cs
    if cb.shape[-2:] != (h, w):
        fy = -(-h // cb.shape[-2])
        fx = -(-w // cb.shape[-1])
        cb = cb.repeat_interleave(fy, -2).repeat_interleave(fx, -1)[..., :h, :w]
        cr = cr.repeat_interleave(fy, -2).repeat_interleave(fx, -1)[..., :h, :w]
    r = yf + 2.0 * (1.0 - kr) * cr
    b = yf + 2.0 * (1.0 - kb) * cb
    g = (yf - kr * r - kb * b) / kg
    return torch.stack((r, g, b), 1).clamp_(0.0, 1.0)


def luma_excess(y: torch.Tensor, spec: ColourSpec) -> torch.Tensor | None:
    """How far limited-range luma codes lie beyond the nominal range (super-whites above, below-blacks
    below), which RGB in [0,1] cannot hold; None for full range, or (on a CPU) when all lie within."""
    if spec.full_range:
        return None
    lo, hi = 16 << (spec.bits - 8), 235 << (spec.bits - 8)
    if y.device.type == "cpu":  # on CUDA the test would wait for the GPU; there the clamp costs nothing
        least, most = torch.aminmax(y)
        if least >= lo and most <= hi:
            return None
    return y - y.clamp(lo, hi)


def rgb_to_yuv(rgb: torch.Tensor, spec: ColourSpec, chroma_shape: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    """Convert float RGB (B,3,H,W) to integer planes, chroma box-averaged down to chroma_shape."""
    kr, kb = _MATRICES[spec.matrix]
    kg = 1.0 - kr - kb
    yo, ys, co, cs = _scales(spec)
    rgb = rgb.float()
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    yf = kr * r + kg * g + kb * b
    cb = (b - yf) / (2.0 * (1.0 - kb))
    cr = (r - yf) / (2.0 * (1.0 - kr))
    h, w = yf.shape[-2:]
    hc, wc = chroma_shape
    if (hc, wc) != (h, w):
        fy, fx = -(-h // hc), -(-w // wc)
        pad = (0, wc * fx - w, 0, hc * fy - h)
        c = torch.stack((cb, cr), 1)
        if pad[1] or pad[3]:
            c = F.pad(c, pad, mode="replicate")
        c = F.avg_pool2d(c, (fy, fx))
        cb, cr = c[:, 0], c[:, 1]
    dtype = torch.int32

    def q(x: torch.Tensor, off: float, scale: float) -> torch.Tensor:
        return (x * scale + off).round_().clamp_(0, spec.max_code).to(dtype)

    return q(yf, yo, ys), q(cb, co, cs), q(cr, co, cs)
