"""A folder of generated clips sharpened by a plain folder run and by `--ray auto`, alternated, wall time of
the real command each (process start, model load and, for Ray, starting and stopping a local instance)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from truesight_video.media import write_test_clip


def sharpen(src: Path, out: Path, extra: list[str]) -> tuple[float, list[dict]]:
    """Wall seconds of one `truesight-video sharpen` and its --json lines."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cmd = [sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), "-o", str(out), "--device", "cpu",
           "--json", *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, [json.loads(line) for line in r.stdout.splitlines()]


def ray_start_stop() -> float:
    """Seconds to start and stop a local Ray instance from a fresh process (no task)."""
    code = "import ray; ray.init(logging_level='ERROR'); ray.shutdown()"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(args.clips):
            write_test_clip(src / f"clip{i}.mp4", w, h, args.seconds)
        walls: dict[str, list[float]] = {"plain": [], "ray": []}
        for r in range(args.rounds):
            for name, extra in (("plain", []), ("ray", ["--ray", "auto"])):
                wall, lines = sharpen(src, Path(tmp) / name, extra)
                frames = sum(d["frames"] for d in lines)
                busy = sum(d["seconds"] for d in lines)
                walls[name].append(wall)
                print(f"round {r + 1} {name:5s}: {wall:6.1f} s wall, {len(lines)} clips, {frames} frames, "
                      f"{frames / wall:5.2f} fps over the wall time, per clip {busy / len(lines):5.2f} s "
                      f"({frames / busy:5.2f} fps inside a clip)", flush=True)
        start_stop = ray_start_stop()
    plain, ray = statistics.median(walls["plain"]), statistics.median(walls["ray"])
    print(f"median wall: plain {plain:.1f} s, ray {ray:.1f} s, ratio {ray / plain:.3f}; "
          f"overhead {(ray - plain) / args.clips:+.2f} s per clip; a local Ray instance alone starts and "
          f"stops in {start_stop:.1f} s")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
