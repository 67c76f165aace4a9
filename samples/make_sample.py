"""Regenerate samples/blurry.mp4: 3 s of a drawn street scene filmed by a camera panning fast enough to
blur, 480x270 H.264 at 24 fps with a stereo AAC tone. The blur is made the way `synth` makes it (the
recipe a real GoPro-trained deblurrer recognises, benchmarks/QUALITY.md): continuous motion averaged
in the camera's signal, optics slightly soft, no ghosted copies.

    python samples/make_sample.py [OUT]          # writes samples/blurry.mp4
    python samples/make_sample.py --check        # the default model's gain on it, against the sharp frames
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

W, H, FPS, SECONDS = 480, 270, 24, 3
SAMPLES_PER_PX = 4
SOFTEN = 0.7  # px: a video camera's optics


def scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wide sharp canvas: bricks, signs with text, stripes and poles (sRGB float in [0,1])."""
    img = np.full((height, width, 3), 200, np.uint8)
    for y in range(0, height, 24):  # brick wall
        off = 0 if (y // 24) % 2 else 24
        for x in range(-off, width, 48):
            c = rng.integers(90, 170, 3).tolist()
            cv2.rectangle(img, (x + 2, y + 2), (x + 46, y + 22), c, -1)
    for i in range(16):  # signs with text
        x, y = int(rng.integers(0, width - 160)), int(rng.integers(10, height - 70))
        cv2.rectangle(img, (x, y), (x + 150, y + 56), (250, 250, 240), -1)
        cv2.rectangle(img, (x, y), (x + 150, y + 56), (20, 20, 20), 3)
        cv2.putText(img, f"EXIT {i}", (x + 10, y + 40), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (30, 30, 160), 2, cv2.LINE_AA)
    for i in range(0, width, 97):  # poles
        cv2.line(img, (i, 0), (i + 8, height), (30, 60, 30), 4, cv2.LINE_AA)
    return cv2.GaussianBlur(img.astype(np.float32) / 255.0, (0, 0), SOFTEN)


def camera(n: int) -> tuple[float, float, float]:
    """Where the camera looks at the middle of frame n, and how far it moves during its exposure (px)."""
    speed = 10 + 4 * np.sin(n / 9)  # 6-14 px of motion per exposure (real GoPro frames: 4-18 at 640x360)
    x = 40 + 13 * n + 3 * np.sin(n / 5)
    y = 20 + 6 * np.sin(n / 7)
    return x, y, speed


def view(canvas: np.ndarray, x: float, y: float) -> np.ndarray:
    """The W x H window of the canvas at a sub-pixel position."""
    m = np.array([[1.0, 0.0, -x], [0.0, 1.0, -y]])
    return cv2.warpAffine(canvas, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def frames() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(blurry, sharp) RGB uint8 frames: each blurry one averages its exposure, the sharp one is its middle."""
    canvas = scene(np.random.default_rng(7), W * 4, H + 40)
    blurry, sharp = [], []
    for n in range(FPS * SECONDS):
        x, y, speed = camera(n)
        k = max(7, int(np.ceil(speed * SAMPLES_PER_PX))) | 1
        acc = sum(view(canvas, x + speed * t, y + 0.15 * speed * t) for t in np.linspace(-0.5, 0.5, k))
        blurry.append((np.clip(acc / k, 0, 1) * 255 + 0.5).astype(np.uint8))
        sharp.append((np.clip(view(canvas, x, y), 0, 1) * 255 + 0.5).astype(np.uint8))
    return blurry, sharp


def write(out: Path, blurry: list[np.ndarray]) -> None:
    """H.264 (BT.601, limited range, tagged) plus a 440 Hz stereo tone."""
    with av.open(str(out), "w") as c:
        vs = c.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "medium"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.codec_context.color_range, vs.codec_context.colorspace = 1, 6
        vs.codec_context.color_primaries, vs.codec_context.color_trc = 6, 6
        aus = c.add_stream("aac", rate=48000, layout="stereo")
        for n, rgb in enumerate(blurry):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu601", dst_color_range="MPEG")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
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


def default_model_gain(step: int = 6) -> tuple[float, float]:
    """(input PSNR, the default model's PSNR gain) over every step-th blurry frame, against the sharp ones."""
    import torch

    from truesight_video.checkpoint import load_model
    from truesight_video.stills import to_tensor, to_uint8
    from truesight_video.training.metrics import psnr

    blurry, sharp = frames()
    model = load_model(None)
    psnr_in, psnr_out = [], []
    with torch.inference_mode():
        for b, s in zip(blurry[::step], sharp[::step]):
            y = to_uint8(model(to_tensor(b)))
            psnr_in.append(psnr(torch.from_numpy(b), torch.from_numpy(s)))
            psnr_out.append(psnr(torch.from_numpy(y), torch.from_numpy(s)))
    return float(np.mean(psnr_in)), float(np.mean(psnr_out) - np.mean(psnr_in))


def check() -> None:
    """Print the default model's gain on the sample."""
    from truesight_video.checkpoint import default_model_name

    psnr_in, gain = default_model_gain()
    print(f"{default_model_name()}: {gain:+.2f} dB over the blurry frames of the sample "
          f"({FPS * SECONDS // 6} frames, input {psnr_in:.2f} dB)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check()
    else:
        write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("blurry.mp4"), frames()[0])
