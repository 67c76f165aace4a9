"""SSIM and its contrast-structure term, written here (11-tap Gaussian window, sigma 1.5, no padding,
per channel), so the loss and the metrics depend on no other package's private helpers."""
from __future__ import annotations

import torch
import torch.nn.functional as F

WIN, SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WIN, sigma: float = SIGMA, device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The normalised 1-D Gaussian, shape (size,)."""
    t = torch.arange(size, dtype=dtype, device=device) - size // 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, 'valid' (the output shrinks by the window)."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim_cs(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSIM, contrast-structure) per image and channel, shape (B, C), of two (B, C, H, W) tensors."""
    g = gaussian_window(device=x.device, dtype=x.dtype)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = _blur(x, g), _blur(y, g)
    var_x = _blur(x * x, g) - mu_x**2
    var_y = _blur(y * y, g) - mu_y**2
    cov = _blur(x * y, g) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    s = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return s.flatten(2).mean(-1), cs.flatten(2).mean(-1)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM over images and channels."""
    return ssim_cs(x, y, data_range)[0].mean()
