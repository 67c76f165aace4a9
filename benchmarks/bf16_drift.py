"""How far bf16 moves a model's output from fp32 on real 720p GoPro frames, in 8-bit levels: the largest
stray at any pixel, the one all but one value (pixel and channel) in 10,000 stay within, and how many
values stray a whole level. Runs the product's Sharpener both ways (bf16 tiled at 512 px, as the test does).
With --fp32-convs the multi-scale student keeps that set of its convs out of bf16 instead of its own; with
--speed it also times eager bf16 at 720p with its own set against that one (default: its own less dec1)
and against fp32, alternated round by round.

    python benchmarks/bf16_drift.py [MODEL] [--every 3] [--fp32-convs head,up2,up1,tail] [--speed]

Needs ../shared (the real pairs); on a CPU without bf16 units bf16 is emulated: about 8 s a frame.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time
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
    ap.add_argument("--fp32-convs", default=None, help="comma-separated conv names to keep in fp32 instead")
    ap.add_argument("--speed", action="store_true", help="also time bf16 with the model's own set and this one")
    ap.add_argument("--rounds", type=int, default=7, help="--speed: rounds of alternated timings")
    args = ap.parse_args()
    if args.every < 1:
        ap.error("--every must be at least 1")
    frames = sorted(FRAMES.glob("*.*"))[::args.every]
    if not frames:
        raise SystemExit(f"no real frames at {FRAMES} (needs ../shared beside the repo)")
    logging.getLogger("truesight_video").setLevel(logging.ERROR)  # the emulated-bf16 warning, once per frame
    model = load_model(args.model)
    cpu = torch.device("cpu")
    if args.fp32_convs is not None or args.speed:
        own = getattr(model, "full_precision", None)
        if own is None:
            ap.error("--fp32-convs and --speed need the multi-scale student")
        if args.fp32_convs is None:
            other = own - {"dec1"}
        else:
            other = frozenset(c for c in args.fp32_convs.split(",") if c)
            convs = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
            if not other <= convs:
                ap.error(f"--fp32-convs: no conv named {', '.join(sorted(other - convs))} "
                         f"(known: {', '.join(sorted(convs))})")
        if args.speed:
            _speed(model, own, other, args.rounds)
        if args.fp32_convs is not None:
            model.full_precision = other
            print(f"convs kept in fp32: {','.join(sorted(other)) or 'none'}")
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


def _speed(model: torch.nn.Module, own: frozenset, other: frozenset, rounds: int) -> None:
    x = to_tensor(read_rgb(sorted(FRAMES.glob("*.*"))[0]))
    cpu = torch.device("cpu")

    def sharpener(precision: str, convs: frozenset) -> Sharpener:
        model.full_precision = convs  # read when the Sharpener copies the model
        return Sharpener(model, cpu, precision=precision)

    runs = {"fp32": sharpener("fp32", own),
            f"bf16, fp32 {','.join(sorted(own))}": sharpener("bf16", own),
            f"bf16, fp32 {','.join(sorted(other)) or 'none'}": sharpener("bf16", other)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(rounds + 1):  # round 0 warms up
        for k, run in runs.items():
            t0 = time.perf_counter()
            run.sharpen_rgb(x)
            if r:
                times[k].append(time.perf_counter() - t0)
    model.full_precision = own
    first = next(iter(runs))
    print(f"{x.shape[-1]}x{x.shape[-2]} eager, {torch.get_num_threads()} threads, median of {rounds} rounds:")
    for k, v in times.items():
        ratio = statistics.median(a / b for a, b in zip(times[first], v))
        print(f"  {k:40s} {statistics.median(v):.3f} s a frame  {ratio:.2f}x fp32")


if __name__ == "__main__":
    main()
