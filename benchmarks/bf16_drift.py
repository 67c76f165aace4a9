"""How far bf16 moves a model's output from fp32 on real 720p GoPro frames, in 8-bit levels: the largest
stray at any pixel, the one all but one value (pixel and channel) in 10,000 stay within, and how many
values stray a whole level. Runs the product's Sharpener both ways (bf16 tiled at 512 px, as the test does).

    python benchmarks/bf16_drift.py [MODEL] [--every 3]

Needs ../shared (the real pairs); on a CPU without bf16 units bf16 is emulated: about 8 s a frame.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from truesight_video.checkpoint import default_model_name, load_model
from truesight_video.engine import Sharpener
from truesight_video.stills import read_rgb, to_tensor

FRAMES = Path(__file__).resolve().parents[2] / "shared/data/gopro-sample/train/GOPR0372_07_00/blur"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=None, help="shipped name or checkpoint (default: the default)")
    ap.add_argument("--every", type=int, default=3, help="every n-th of the 42 frames")
    args = ap.parse_args()
    if args.every < 1:
        ap.error("--every must be at least 1")
    frames = sorted(FRAMES.glob("*.*"))[::args.every]
    if not frames:
        raise SystemExit(f"no real frames at {FRAMES} (needs ../shared beside the repo)")
    logging.getLogger("truesight_video").setLevel(logging.ERROR)  # the emulated-bf16 warning, once per frame
    model = load_model(args.model)
    cpu = torch.device("cpu")
    worst = []
    print(f"{args.model or default_model_name()}: frame, largest stray, 99.99th percentile, values > 1 level")
    for f in frames:
        x = to_tensor(read_rgb(f))
        ref = Sharpener(model, cpu, precision="fp32").sharpen_rgb(x)
        y = Sharpener(model, cpu, precision="bf16", tile=512).sharpen_rgb(x)
        d = (y - ref).abs().flatten() * 255
        top, p = d.max().item(), d.kthvalue(int(d.numel() * 0.9999)).values.item()
        worst.append((top, p))
        print(f"{f.stem}  {top:.3f}  {p:.3f}  {int((d > 1).sum())}", flush=True)
    print(f"{len(worst)} frames: largest stray {min(w[0] for w in worst):.2f}-{max(w[0] for w in worst):.2f} levels, "
          f"99.99th percentile at most {max(w[1] for w in worst):.2f}")


if __name__ == "__main__":
    main()
