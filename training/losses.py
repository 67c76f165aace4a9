"""The product loss: a*MSE + (1-a)*(1-MS-SSIM) + w*SobelEdgeL1."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from .ssim import WIN, ssim_cs

log = logging.getLogger("truesight_video")
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms."""

    alpha: float = 0.8
    edge_weight: float = 1.0


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradients (B, 2C, H, W), replicate-padded."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device, dtype=x.dtype)
    k = torch.stack([kx, kx.t()]).unsqueeze(1)  # (2,1,3,3)
    c = x.shape[1]
    k = k.repeat(c, 1, 1, 1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=c)


def sobel_edge_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of Sobel gradients."""
    return (sobel_edges(pred) - sobel_edges(target)).abs().mean()


def msssim_scales(size: int) -> int:
    """How many MS-SSIM scales fit a crop: the smallest scale must exceed the 11-px window."""
    scales = 5
    while scales > 1 and size <= (WIN - 1) * 2 ** (scales - 1):
        scales -= 1
    return scales


class ProductLoss(nn.Module):
    """a*MSE + (1-a)*(1-MS-SSIM) + w*SobelEdgeL1, with fewer MS-SSIM scales on small crops."""

    def __init__(self, config: LossConfig = LossConfig()) -> None:
        super().__init__()
        self.config = config
        self._warned: set[int] = set()

    def terms(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each term separately (unweighted)."""
        pred, target = pred.float(), target.float()
        size = min(pred.shape[-2:])
        scales = msssim_scales(size)
        if scales < 5 and size not in self._warned:
            self._warned.add(size)
            log.warning("MS-SSIM: %d px crops fit %d of 5 scales; using %d", size, scales, scales)
        msssim = ms_ssim(pred, target, scales)
        return {"mse": F.mse_loss(pred, target), "msssim": msssim, "edge": sobel_edge_l1(pred, target)}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = self.terms(pred, target)
        a, w = self.config.alpha, self.config.edge_weight
        return a * t["mse"] + (1 - a) * (1 - t["msssim"]) + w * t["edge"]


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int = 5) -> torch.Tensor:
    """MS-SSIM (data range 1) over the first `scales` scales (Wang et al. 2003, weights renormalised),
    so crops too small for all five scales still work."""
    w = torch.tensor(MSSSIM_WEIGHTS[:scales], device=x.device, dtype=x.dtype)
    w = w / w.sum()
    values = []
    for i in range(scales):
        ssim_c, cs = ssim_cs(x, y, data_range=1.0)
        if i < scales - 1:
            values.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    values.append(torch.relu(ssim_c))
    return torch.prod(torch.stack(values) ** w.view(-1, 1, 1), dim=0).mean()
