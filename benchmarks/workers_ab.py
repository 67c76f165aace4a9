"""A/B of the CPU pipeline with one frame at a time vs several on worker threads, alternated in one run."""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from truesight_video.checkpoint import load_model
from truesight_video.media import write_test_clip
from truesight_video.pipeline import sharpen_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default=None, help="shipped model name or checkpoint (default: the default model)")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    model = load_model(args.model, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        write_test_clip(src, w, h, args.seconds)
        fps: dict[int, list[float]] = {n: [] for n in args.workers}
        for r in range(args.rounds):
            for n in args.workers:
                stats = sharpen_video(src, Path(tmp) / f"out{n}.mp4", model=model, device="cpu", workers=n,
                                      overwrite=True, progress=False)
                fps[n].append(stats.fps)
            print(f"round {r + 1}: " + ", ".join(f"{n} worker(s) {fps[n][-1]:.2f} fps" for n in args.workers))
    base = args.workers[0]
    for n in args.workers:
        ratio = statistics.median(b / a for a, b in zip(fps[base], fps[n]))
        print(f"{n} worker(s): median {statistics.median(fps[n]):.2f} fps, {ratio:.3f}x of {base}")


if __name__ == "__main__":
    main()
