"""Honest evaluation: PSNR/SSIM of the model's output, of the blurry input and of a classic unsharp
mask, on full 8-bit frames; plus colour shift and frame-to-frame flicker."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..model import UnsharpMask
from ..numerics import FP32, Numerics, prepare, run
from ..stills import write_rgb
from ..temporal import CorrectionFilter
from .data import Pair, check_same_size, frame_key, read_rgb, to_tensor
from .metrics import psnr, quantize, ssim


def one_input_per_frame(pairs: list[Pair], inputs: tuple[str, ...]) -> list[Pair]:
    """Keep, for each (sequence, frame), the pair of the first input kind in `inputs` that exists."""
    rank = {name: i for i, name in enumerate(inputs)}
    best: dict[tuple[str, str], Pair] = {}
    for p in pairs:
        key = (p.sequence, p.sharp.stem)
        if key not in best or rank.get(p.blurry.parent.name, 99) < rank.get(best[key].blurry.parent.name, 99):
            best[key] = p
    return [best[k] for k in sorted(best, key=lambda k: (k[0], frame_key(k[1])))]


FLICKER_KEYS = ("flicker_input", "flicker_output", "flicker_sharp", "flicker_error_input", "flicker_error_output")


def _flicker(prev: tuple[np.ndarray, np.ndarray, np.ndarray], cur: tuple[np.ndarray, np.ndarray, np.ndarray]
             ) -> tuple[np.ndarray, int]:
    """Where the input changes < 2 levels between two frames: the mean |frame-to-frame change| of
    input, output and sharp frame, and how far the input's and the output's changes are from the
    sharp frames' (mean |change - sharp change|), in FLICKER_KEYS order; and the pixel count. The
    sharp frames change there too (detail the blur hid moves), so output flicker is not all error."""
    (in0, out0, sh0), (in1, out1, sh1) = prev, cur
    static = np.abs(in1.astype(np.int16) - in0.astype(np.int16)).max(-1) < 2
    n = int(static.sum())
    if n == 0:
        return np.zeros(len(FLICKER_KEYS)), 0
    d_in, d_out, d_sh = ((b.astype(np.float64) - a)[static] for a, b in ((in0, in1), (out0, out1), (sh0, sh1)))
    means = [np.abs(d).mean() for d in (d_in, d_out, d_sh, d_in - d_sh, d_out - d_sh)]
    return np.array(means), n


@torch.inference_mode()
def evaluate_pairs(model: nn.Module, pairs: list[Pair], device: torch.device, loss_fn: Any = None,
                   baseline: bool = True, save_dir: str | os.PathLike | None = None,
                   progress: bool = False, numerics: Numerics = FP32, temporal: float = 0.0) -> dict[str, Any]:
    """Mean metrics over pairs (one full frame at a time, so 720p fits in modest memory), the model
    run in the given numerics; with temporal > 0 each sequence's frames go in order through the
    product's temporal filter (truesight_video/temporal.py), as `sharpen` runs them."""
    from tqdm import tqdm

    was_training = model.training
    model.eval()
    net = model if numerics.plain else prepare(model, device, numerics)
    usm = UnsharpMask().to(device) if baseline else None
    acc: dict[str, list[float]] = {}
    prev: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    flick, flick_w = np.zeros(len(FLICKER_KEYS)), 0
    filt = CorrectionFilter(temporal)
    for p in tqdm(pairs, unit="frame", disable=not progress, desc="eval"):
        blurry, sharp = read_rgb(p.blurry), read_rgb(p.sharp)
        check_same_size(blurry, sharp, p)
        x = to_tensor(blurry)[None].to(device)
        y = to_tensor(sharp)[None].to(device)
        if prev is not None and prev[0] != p.sequence:
            filt.reset()
        out = filt(x, run(net, x, numerics).float())
        if loss_fn is not None:
            acc.setdefault("loss", []).append(float(loss_fn(out, y)))
        q_out, q_y, q_x = quantize(out), quantize(y), quantize(x)
        acc.setdefault("psnr", []).append(psnr(q_out, q_y))
        acc.setdefault("ssim", []).append(ssim(q_out, q_y))
        acc.setdefault("input_psnr", []).append(psnr(q_x, q_y))
        acc.setdefault("input_ssim", []).append(ssim(q_x, q_y))
        mean_shift = (q_out - q_x).mean(dim=(0, 2, 3)).abs().max().item()
        acc.setdefault("colour_shift", []).append(mean_shift)
        if usm is not None:
            q_u = quantize(usm(x))
            acc.setdefault("unsharp_psnr", []).append(psnr(q_u, q_y))
            acc.setdefault("unsharp_ssim", []).append(ssim(q_u, q_y))
        out8 = q_out[0].permute(1, 2, 0).byte().cpu().numpy()
        if prev is not None and prev[0] == p.sequence and prev[1][0].shape == blurry.shape:
            means, n = _flicker(prev[1], (blurry, out8, sharp))
            flick, flick_w = flick + means * n, flick_w + n
        prev = (p.sequence, (blurry, out8, sharp))
        if save_dir is not None:
            d = Path(save_dir)
            d.mkdir(parents=True, exist_ok=True)
            row = np.concatenate([blurry, out8, sharp], axis=1)
            write_rgb(d / f"{p.sequence}_{p.blurry.parent.name}_{p.blurry.stem}.png", row)
    if was_training:
        model.train()
    res: dict[str, Any] = {"n": len(pairs)}
    res.update({k: float(np.mean(v)) for k, v in acc.items()})
    res["colour_shift"] = float(np.max(acc["colour_shift"])) if acc.get("colour_shift") else 0.0
    res["gain_db"] = res["psnr"] - res["input_psnr"]
    if flick_w:
        res.update({k: float(v) for k, v in zip(FLICKER_KEYS, flick / flick_w)})
    return res
