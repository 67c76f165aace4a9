"""The cost of keeping limited-range super-whites and below-blacks (colour.luma_excess) in the engine: the
default model on the first frames of a real clip, with and without it, alternated in one run.

    python benchmarks/excess_ab.py [CLIP] [--frames 4] [--rounds 4]

Default clip: ../shared/realmedia/android_lowlight_vfr_rot180_shake.mp4 (a phone's, with codes outside 16-235).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import truesight_video.engine as engine
from truesight_video.checkpoint import load_model
from truesight_video.colour import info_spec, luma_excess
from truesight_video.media.reader import VideoReader

CLIP = Path(__file__).resolve().parents[2] / "shared/realmedia/android_lowlight_vfr_rot180_shake.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", default=str(CLIP))
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    with VideoReader(args.clip) as reader:
        spec, frames = info_spec(reader.info), []
        for item in reader:
            if hasattr(item, "planes"):
                frames.append(tuple(p.copy() for p in item.planes))
            if len(frames) == args.frames:
                break
    y = frames[0][0]
    print(f"{y.shape[1]}x{y.shape[0]}, {spec}; luma codes outside 16-235: {100 * np.mean((y < 16) | (y > 235)):.1f} %")
    eng = engine.Sharpener(load_model(None), torch.device("cpu"))
    eng.submit(frames[:2], spec).result()  # warm-up
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(args.rounds):
        for key in times:
            engine.luma_excess = luma_excess if key == "with" else (lambda y, spec: None)
            t0 = time.perf_counter()
            eng.submit(frames, spec).result()
            times[key].append((time.perf_counter() - t0) / len(frames))
    on, off = statistics.median(times["with"]), statistics.median(times["without"])
    print(f"per frame: with {on:.3f} s, without {off:.3f} s, ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
