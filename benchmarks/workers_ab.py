"""A/B of the CPU pipeline's settings, alternated in one run: one frame at a time vs several on worker
threads (--workers), and the temporal filter's strength (--temporal; 0 is off)."""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from truesight_video.checkpoint import load_model
from truesight_video.media import write_test_clip
from truesight_video.options import DEFAULT_TEMPORAL
from truesight_video.pipeline import sharpen_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--temporal", type=float, nargs="+", default=[DEFAULT_TEMPORAL])
    ap.add_argument("--model", default=None, help="shipped model name or checkpoint (default: the default model)")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    model = load_model(args.model, "cpu")
    variants = [(n, t) for n in args.workers for t in args.temporal]
    name = {v: f"{v[0]} worker(s) temporal {v[1]:g}" for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        write_test_clip(src, w, h, args.seconds)
        fps: dict[tuple[int, float], list[float]] = {v: [] for v in variants}
        for r in range(args.rounds):
            for n, t in variants:
                stats = sharpen_video(src, Path(tmp) / f"out{n}.mp4", model=model, device="cpu", workers=n,
                                      temporal=t, overwrite=True, progress=False)
                fps[(n, t)].append(stats.fps)
            print(f"round {r + 1}: " + ", ".join(f"{name[v]} {fps[v][-1]:.2f} fps" for v in variants), flush=True)
    base = variants[0]
    for v in variants:
        ratio = statistics.median(b / a for a, b in zip(fps[base], fps[v]))
        print(f"{name[v]}: median {statistics.median(fps[v]):.2f} fps, {ratio:.3f}x of {name[base]}")


if __name__ == "__main__":
    main()
