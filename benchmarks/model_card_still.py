"""The model card's still: one held-out real GoPro frame, blurry input | default model | teacher (DMPHN)
| ground truth, a detailed crop at full resolution, each labelled with its PSNR on the whole frame.

    python benchmarks/model_card_still.py [--frame 000123] [--out benchmarks/stills/real_side_by_side.jpg]

Needs ../shared (the real pairs and the teacher's weights); the teacher takes ~15 s on a 2-core CPU.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from truesight_video.checkpoint import default_model_name, load_model
from truesight_video.compose import label, text_scale
from truesight_video.stills import read_rgb, to_tensor, to_uint8, write_rgb
from truesight_video.training import metrics
from truesight_video.training.teacher import load_teacher

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT.parent / "shared/data/gopro-sample/train/GOPR0372_07_00"
TEACHER = ROOT.parent / "shared/teachers/dmphn_1_2_4"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two uint8 images in dB."""
    return metrics.psnr(torch.from_numpy(a), torch.from_numpy(b))


def busiest_crop(img: np.ndarray, w: int, h: int) -> tuple[int, int]:
    """Top-left corner of the w x h window (on a 16-px grid) with the most gradient energy."""
    g = np.abs(np.diff(img.mean(axis=2), axis=1))[:-1] + np.abs(np.diff(img.mean(axis=2), axis=0))[:, :-1]
    best, at = -1.0, (0, 0)
    for y in range(0, img.shape[0] - h, 16):
        for x in range(0, img.shape[1] - w, 16):
            e = float(g[y : y + h, x : x + w].sum())
            if e > best:
                best, at = e, (x, y)
    return at


@torch.inference_mode()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frame", default="000123", help="a held-out frame (the last 12 of the scene are)")
    ap.add_argument("--size", default="400x300", help="crop shown per panel")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/stills/real_side_by_side.jpg")
    args = ap.parse_args()
    cw, ch = (int(v) for v in args.size.split("x"))
    blurry = read_rgb(next((SCENE / "blur").glob(args.frame + ".*")))
    sharp = read_rgb(next((SCENE / "sharp").glob(args.frame + ".*")))
    student = to_uint8(load_model(None)(to_tensor(blurry)))
    teacher = to_uint8(load_teacher(TEACHER)(to_tensor(blurry)))
    x, y = busiest_crop(sharp, cw, ch)
    panels = []
    for name, img in (("input", blurry), (default_model_name(), student), ("teacher (DMPHN)", teacher),
                      ("ground truth", sharp)):
        crop = np.ascontiguousarray(img[y : y + ch, x : x + cw])
        s = text_scale(ch) * 0.8
        label(crop, name, 6, int(22 * s) + 4, s)
        if img is not sharp:
            label(crop, f"{psnr(img, sharp):.2f} dB", 6, ch - 10, s)
        panels.append(crop)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_rgb(args.out, np.concatenate(panels, axis=1))
    print(f"{args.out}: frame {args.frame}, crop {cw}x{ch} at ({x}, {y}); whole-frame PSNR input "
          f"{psnr(blurry, sharp):.2f}, {default_model_name()} {psnr(student, sharp):.2f}, teacher {psnr(teacher, sharp):.2f} dB")


if __name__ == "__main__":
    main()
