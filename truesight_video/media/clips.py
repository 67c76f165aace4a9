"""Small clips for tests and benchmarks, RGB frame access for previews and synthesis, and the
codec-only transcode that benchmarks compare against."""
from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from ..options import EncodeSettings
from .encoders import configure, plan_video
from .reader import Frame, VideoReader, planes_frame


def transcode(src: str | os.PathLike, dst: str | os.PathLike, settings: EncodeSettings) -> int:
    """Decode and re-encode the video stream with no conversion or model: the codec's own speed
    (same encoder choice as the pipeline, other streams left out)."""
    with VideoReader(src) as reader, av.open(str(dst), "w") as out:
        info = reader.info
        enc = plan_video(info, settings, out.format.name.split(",")[0], info.width, info.height)
        vs = out.add_stream(enc.codec, rate=enc.stream_rate(info))
        configure(vs, enc, info, info.width, info.height)
        n = 0
        for frame in reader.raw_frames():
            if frame.format.name != vs.pix_fmt:
                frame = frame.reformat(format=vs.pix_fmt)
            out.mux(vs.encode(frame))
            n += 1
        out.mux(vs.encode(None))
    return n


def write_test_clip(path: str | os.PathLike, width: int, height: int, seconds: float, fps: int = 25,
                    crf: int = 20) -> None:
    """A synthetic H.264 clip (moving gradients and bars, with a tone) for benchmarks."""
    frames = int(seconds * fps)
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        aus = c.add_stream("aac", rate=48000, layout="stereo")
        for i in range(frames):
            y = (16 + (xx * 3 + yy * 2 + i * 7) % 200 + 10 * ((xx // 16 + i) % 2)).astype(np.uint8)
            u = np.full((height // 2, width // 2), 128 + (i % 40) - 20, np.uint8)
            v = np.full((height // 2, width // 2), 110 + (i % 30), np.uint8)
            f = planes_frame((y, u, v), "yuv420p")
            f.pts, f.time_base = i, Fraction(1, fps)
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
        n = int(48000 * seconds)
        tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
        for s0 in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.stack([tone[s0:s0 + 1024]] * 2)),
                                            format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, s0
            c.mux(aus.encode(af))
        c.mux(aus.encode(None))


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """The picture as a player shows it: rotation is the display matrix's counterclockwise angle in
    degrees (a phone held upright records -90)."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def iter_rgb(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Every frame of a clip as HxWx3 RGB uint8, upright (for synthesis from high-frame-rate video and
    distillation)."""
    with VideoReader(path) as reader:
        rotation = reader.info.rotation
        for frame in reader.raw_frames():
            yield upright(frame.to_ndarray(format="rgb24"), rotation)


class RgbWriter:
    """Encodes RGB frames as H.264 into `path`; a context manager that finishes the file on a clean
    exit (wrap it in fsutil.atomic_path so an unfinished recording never poses as a finished one)."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, crf: int = 18) -> None:
        self.out = av.open(str(path), "w")
        self.stream = self.out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000),
                                          options={"crf": str(crf), "preset": "veryfast"})
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.colorspace, self.stream.codec_context.color_range = 1, 1
        self.frames = 0

    def __enter__(self) -> "RgbWriter":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                self.out.mux(self.stream.encode(None))
        finally:
            self.out.close()

    def write(self, rgb: np.ndarray) -> None:
        """Append one HxWx3 uint8 frame (odd sizes are padded by one pixel)."""
        h, w = rgb.shape[:2]
        if (w, h) != (self.stream.width, self.stream.height):
            rgb = np.pad(rgb, ((0, self.stream.height - h), (0, self.stream.width - w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        frame.pts = self.frames
        frame.time_base = 1 / self.stream.codec_context.framerate if self.stream.codec_context.framerate else None
        self.out.mux(self.stream.encode(frame))
        self.frames += 1


def iter_rgb_timed(path: str | os.PathLike, start: float = 0.0) -> Iterator[tuple[np.ndarray, float, float]]:
    """(RGB uint8 frame, upright, time in seconds, frame rate) of a clip from `start`, converted with the
    stream's own matrix and range (for previews)."""
    from ..colour import info_spec, yuv_to_rgb
    import torch

    with VideoReader(path, start=start) as reader:
        info = reader.info
        spec = info_spec(info)
        rate = float(info.rate) if info.rate else 25.0
        for item in reader:
            if isinstance(item, Frame):
                y, u, v = (torch.from_numpy(p.astype(np.int32))[None] for p in item.planes)
                rgb = yuv_to_rgb(y, u, v, spec)[0].mul(255).round().byte().permute(1, 2, 0).contiguous().numpy()
                yield upright(rgb, info.rotation), item.time, rate
