"""The students (StudentCNN_v3: six convolutions with skips and dilation; MultiScaleStudent: a small
three-level encoder-decoder) and the classic unsharp-mask baseline."""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

_EPS = 1e-4


def full_precision(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """conv(x) outside autocast, for the first and last layers: the first sees 8-bit (or deeper)
    pixels, which bf16's 8-bit mantissa would round by up to a third of a level (an error the
    sharpening then amplifies), the last writes the correction itself."""
    with torch.autocast(x.device.type, enabled=False):
        return conv(x.to(conv.weight.dtype))


@dataclass(frozen=True)
class StudentConfig:
    """Architecture of StudentCNN_v3: width, the dilation of each 3x3 conv, pixel-unshuffle factor."""

    width: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 4, 1)
    unshuffle: int = 1
    dc_window: int = 0  # > 0: remove the correction's local mean over this many pixels (keeps colours)

    def __post_init__(self) -> None:
        if len(self.dilations) != 6:
            raise ValueError(f"StudentCNN_v3 has six convolutions, got dilations {self.dilations}")
        if self.unshuffle not in (1, 2, 4):
            raise ValueError(f"unshuffle must be 1, 2 or 4, got {self.unshuffle}")
        if self.dc_window and (self.dc_window < 0 or self.dc_window % self.unshuffle):
            raise ValueError(f"dc_window must be a positive multiple of the unshuffle factor, got {self.dc_window}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))

    @property
    def radius(self) -> int:
        """Receptive-field radius in input pixels (used as the tile overlap)."""
        return sum(self.dilations) * self.unshuffle + self.unshuffle + 2 * self.dc_window

    @property
    def align(self) -> int:
        """Tiles must start on multiples of this to see the same pixel grid as the whole frame."""
        return max(self.unshuffle, self.dc_window)


class StudentCNN_v3(nn.Module):
    """Six 3x3 convs: head, four dilated residual blocks, tail; the tail's residual is added in
    logit space so the sigmoid output is the identity at initialisation and stays in [0,1]."""

    def __init__(self, config: StudentConfig = StudentConfig()) -> None:
        super().__init__()
        self.config = config
        c_in = 3 * config.unshuffle**2
        w, d = config.width, config.dilations
        self.head = nn.Conv2d(c_in, w, 3, padding=d[0], dilation=d[0])
        self.body = nn.ModuleList(nn.Conv2d(w, w, 3, padding=k, dilation=k) for k in d[1:5])
        self.tail = nn.Conv2d(w, c_in, 3, padding=d[5], dilation=d[5])
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.config.unshuffle
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % f, (-w) % f
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        z = F.pixel_unshuffle(x, f) if f > 1 else x
        a = F.leaky_relu(full_precision(self.head, z), 0.1)
        for conv in self.body:
            a = a + F.leaky_relu(conv(a), 0.1)
        # the skip path stays in fp32 so half-precision inference cannot shift sharp content
        logits = torch.logit(z.float().clamp(_EPS, 1 - _EPS)) + full_precision(self.tail, a).float()
        y = torch.sigmoid(logits)
        y = F.pixel_shuffle(y, f) if f > 1 else y
        y = y[..., :h, :w]
        if self.config.dc_window:
            y = remove_local_mean(y, x[..., :h, :w].float(), self.config.dc_window)
        return y


@dataclass(frozen=True)
class MultiScaleConfig:
    """Architecture of MultiScaleStudent: base width (levels use width, 2x, 4x) and dc_window."""

    width: int = 32
    dc_window: int = 0

    def __post_init__(self) -> None:
        if self.width < 4:
            raise ValueError(f"width must be at least 4, got {self.width}")
        if self.dc_window and (self.dc_window < 0 or self.dc_window % 8):
            raise ValueError(f"dc_window must be a positive multiple of 8, got {self.dc_window}")

    @property
    def radius(self) -> int:
        """Receptive-field radius in input pixels, rounded up (2x: 5 convs, 4x: 5, 8x: 7 taps)."""
        return 2 * 6 + 4 * 5 + 8 * 7 + 2 * self.dc_window

    @property
    def align(self) -> int:
        """Tiles must start on multiples of this to see the same pixel grid as the whole frame."""
        return max(8, self.dc_window)


class MultiScaleStudent(nn.Module):
    """2x pixel-unshuffle, then three levels (1/2, 1/4, 1/8 resolution) joined by strided convs
    down and bilinear upsampling up; like StudentCNN_v3 the residual is added in logit space."""

    # convs that run outside bf16 autocast: head and tail (see full_precision); the 1x1 projections up
    # the decoder, whose rounding lands straight on the skip sums (up1 alone in bf16 put the worst real
    # frame 0.50 levels off fp32, in fp32 0.43; under 1 % of the MACs); and dec1, the 3x3 conv at quarter
    # resolution, where the decoder's bf16 error grew most: in fp32 it took the bf16 test's real frame from
    # 0.598 to 0.506 levels at the 99.99th percentile with ftB3's weights (0.616 to 0.499 with oneDNN held to
    # AVX2, so the same weights no longer pass or fail by machine) and 14 real frames from 18 values past a
    # level to 2, for 13 % of the MACs: eager bf16 at 720p on two AMX cores 1.70x fp32 instead of 1.84x
    # (`python benchmarks/bf16_drift.py --speed`)
    FULL_PRECISION = frozenset({"head", "up2", "dec1", "up1", "tail"})

    def __init__(self, config: MultiScaleConfig = MultiScaleConfig()) -> None:
        super().__init__()
        self.config = config
        c0, c1, c2 = config.width, 2 * config.width, 4 * config.width
        conv = nn.Conv2d
        self.head = conv(12, c0, 3, padding=1)
        self.enc0 = conv(c0, c0, 3, padding=1)
        self.down1 = conv(c0, c1, 3, stride=2, padding=1)
        self.enc1 = conv(c1, c1, 3, padding=2, dilation=2)
        self.down2 = conv(c1, c2, 3, stride=2, padding=1)
        self.mid = nn.ModuleList([conv(c2, c2, 3, padding=2, dilation=2), conv(c2, c2, 3, padding=4, dilation=4)])
        self.up2 = conv(c2, c1, 1)
        self.dec1 = conv(c1, c1, 3, padding=1)
        self.up1 = conv(c1, c0, 1)
        self.dec0 = conv(c0, c0, 3, padding=1)
        self.tail = conv(c0, 12, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.full_precision = self.FULL_PRECISION  # benchmarks/bf16_drift.py tries other sets

    def _conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        conv = self.get_submodule(name)
        return full_precision(conv, x) if name in self.full_precision else conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % 8, (-w) % 8
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        act = lambda t: F.leaky_relu(t, 0.1)  # noqa: E731
        c = self._conv
        z = F.pixel_unshuffle(x, 2)
        e0 = act(c("head", z))
        e0 = e0 + act(c("enc0", e0))
        e1 = act(c("down1", e0))
        e1 = e1 + act(c("enc1", e1))
        e2 = act(c("down2", e1))
        for i in range(len(self.mid)):
            e2 = e2 + act(c(f"mid.{i}", e2))
        d1 = e1 + F.interpolate(c("up2", e2), scale_factor=2, mode="bilinear", align_corners=False)
        d1 = d1 + act(c("dec1", d1))
        d0 = e0 + F.interpolate(c("up1", d1), scale_factor=2, mode="bilinear", align_corners=False)
        d0 = d0 + act(c("dec0", d0))
        logits = torch.logit(z.float().clamp(_EPS, 1 - _EPS)) + c("tail", d0).float()
        y = F.pixel_shuffle(torch.sigmoid(logits), 2)[..., :h, :w]
        if self.config.dc_window:
            y = remove_local_mean(y, x[..., :h, :w].float(), self.config.dc_window)
        return y


ARCHS: dict[str, tuple[type, type[nn.Module]]] = {
    "StudentCNN_v3": (StudentConfig, StudentCNN_v3),
    "MultiScaleStudent": (MultiScaleConfig, MultiScaleStudent),
}


def _arch(arch: str) -> tuple[type, type[nn.Module]]:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ARCHS)})")
    return ARCHS[arch]


def config_fields(arch: str) -> tuple[str, ...]:
    """Names of the config fields the named architecture takes."""
    return tuple(f.name for f in fields(_arch(arch)[0]))


def student_config(arch: str, **config: object) -> StudentConfig | MultiScaleConfig:
    """The validated config of the named architecture (lists become tuples)."""
    return _arch(arch)[0](**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})


def build_student(arch: str, **config: object) -> nn.Module:
    """A student of the named architecture from its config fields."""
    return _arch(arch)[1](student_config(arch, **config))


def remove_local_mean(y: torch.Tensor, x: torch.Tensor, window: int) -> torch.Tensor:
    """Subtract the local mean (window-pixel blocks, bilinearly smoothed) of the correction y - x:
    sharpening adds detail, it should not shift local brightness or colour."""
    r = y - x
    h, w = r.shape[-2:]
    pad = (0, (-w) % window, 0, (-h) % window)
    low = F.avg_pool2d(F.pad(r, pad, mode="replicate") if any(pad) else r, window)
    low = F.interpolate(low, scale_factor=window, mode="bilinear", align_corners=False)[..., :h, :w]
    return (y - low).clamp(0.0, 1.0)


class UnsharpMask(nn.Module):
    """Classic unsharp mask: x + amount * (x - gaussian_blur(x)); the honest placeholder model."""

    def __init__(self, amount: float = 1.0, sigma: float = 1.5) -> None:
        super().__init__()
        self.amount = amount
        r = max(1, int(3 * sigma + 0.5))
        t = torch.arange(-r, r + 1, dtype=torch.float32)
        g = torch.exp(-(t**2) / (2 * sigma**2))
        self.register_buffer("kernel", (g / g.sum()), persistent=False)
        self.r = r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        k = self.kernel.to(x.dtype)
        p = F.pad(x, (self.r, self.r, self.r, self.r), mode="replicate")
        p = F.conv2d(p, k.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
        p = F.conv2d(p, k.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)
        return (x + self.amount * (x - p)).clamp(0.0, 1.0)


class Identity(nn.Module):
    """Returns its input; used by tests and by `bench` to isolate the codec."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, width: int = 1280, height: int = 720) -> int:
    """Multiply-accumulates of the convolutions in one forward pass on a width x height frame."""
    total = 0

    def hook(m: nn.Conv2d, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, height, width))
    finally:
        for h in handles:
            h.remove()
    return total


def run_tiled(model: nn.Module, x: torch.Tensor, tile: int, overlap: int) -> torch.Tensor:
    """Run model over overlapping tiles and stitch the centres; equals a whole-frame pass when
    overlap covers the receptive field (tile sizes stay multiples of the model's `align`)."""
    h, w = x.shape[-2:]
    if h <= tile and w <= tile:
        return model(x)
    out = torch.empty_like(x)
    step = tile - 2 * overlap
    if step <= 0:
        raise ValueError(f"tile {tile} too small for overlap {overlap}")
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            ys, xs = max(0, y0 - overlap), max(0, x0 - overlap)
            ye, xe = min(h, y0 + step + overlap), min(w, x0 + step + overlap)
            y = model(x[..., ys:ye, xs:xe])
            out[..., y0 : min(h, y0 + step), x0 : min(w, x0 + step)] = y[
                ..., y0 - ys : y0 - ys + min(step, h - y0), x0 - xs : x0 - xs + min(step, w - x0)
            ]
    return out


def tile_overlap(model: nn.Module) -> int:
    """Overlap that makes tiled output equal whole-frame output: the receptive-field radius,
    rounded up to the model's `align` so tiles stay on its pixel grid."""
    cfg = getattr(model, "config", None)
    if isinstance(cfg, (StudentConfig, MultiScaleConfig)):
        a = cfg.align
        return -(-cfg.radius // a) * a
    return int(getattr(model, "r", 0)) + 1
