"""Regenerate samples/blurry.mp4: 3 s of a synthetic street-sign scene panned fast enough to blur,
480x270 H.264 at 24 fps with a stereo AAC tone. Run: python samples/make_sample.py"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

W, H, FPS, SECONDS, SUBFRAMES = 480, 270, 24, 3, 9


def scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wide sharp canvas: bricks, signs with text, stripes and dots (sRGB uint8)."""
    img = np.full((height, width, 3), 200, np.uint8)
    for y in range(0, height, 24):  # brick wall
        off = 0 if (y // 24) % 2 else 24
        for x in range(-off, width, 48):
            c = rng.integers(90, 170, 3).tolist()
            cv2.rectangle(img, (x + 2, y + 2), (x + 46, y + 22), c, -1)
    for i in range(14):  # signs with text
        x, y = int(rng.integers(0, width - 160)), int(rng.integers(10, height - 70))
        cv2.rectangle(img, (x, y), (x + 150, y + 56), (250, 250, 240), -1)
        cv2.rectangle(img, (x, y), (x + 150, y + 56), (20, 20, 20), 3)
        cv2.putText(img, f"EXIT {i}", (x + 10, y + 40), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (30, 30, 160), 2, cv2.LINE_AA)
    for i in range(0, width, 97):  # poles
        cv2.line(img, (i, 0), (i + 8, height), (30, 60, 30), 4, cv2.LINE_AA)
    return img


def main(out: Path) -> None:
    rng = np.random.default_rng(7)
    canvas = scene(rng, W * 4, H + 40)
    frames = FPS * SECONDS
    with av.open(str(out), "w") as c:
        vs = c.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "medium"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.codec_context.color_range, vs.codec_context.colorspace = 1, 6
        vs.codec_context.color_primaries, vs.codec_context.color_trc = 6, 6
        aus = c.add_stream("aac", rate=48000, layout="stereo")
        for n in range(frames):
            # camera pans right with a little shake; the blur is the mean of SUBFRAMES positions
            acc = np.zeros((H, W, 3), np.float64)
            speed = 10 + 8 * np.sin(n / 9)
            for k in range(SUBFRAMES):
                t = n + k / SUBFRAMES
                x = int(40 + n * 12 + k * speed / SUBFRAMES)
                y = int(20 + 6 * np.sin(t / 3))
                acc += canvas[y : y + H, x : x + W]
            rgb = (acc / SUBFRAMES).round().astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu601", dst_color_range="MPEG")
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            c.mux(vs.encode(frame))
        c.mux(vs.encode(None))
        t = np.arange(48000 * SECONDS) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(0, len(tone), 1024):
            chunk = np.stack([tone[i : i + 1024]] * 2)
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = 48000, i, Fraction(1, 48000)
            c.mux(aus.encode(af))
        c.mux(aus.encode(None))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("blurry.mp4"))
