"""PSNR and SSIM on 8-bit RGB, full frame (SSIM: 11-tap Gaussian, sigma 1.5, per channel, averaged)."""
from __future__ import annotations

import numpy as np
import torch
from .ssim import ssim as _ssim


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Float [0,1] -> float 0..255 rounded, as an 8-bit image would be."""
    return x.clamp(0, 1).mul(255.0).round()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of two 8-bit-valued tensors (0..255); 100 dB cap for identical images."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM of two (1,3,H,W) 8-bit-valued tensors."""
    return float(_ssim(a.float(), b.float(), data_range=255.0))
