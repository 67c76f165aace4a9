"""Builds tiny test clips with PyAV: smooth moving content, sine audio, optional subtitles."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

RANGE = {1: "MPEG", 2: "JPEG"}
SWS_SPACE = {1: "ITU709", 5: "ITU601", 6: "ITU601", 9: "BT2020"}


def rgb_content(i: int, w: int, h: int) -> np.ndarray:
    """A smooth frame (gradients and a soft moving blob), float RGB in [0.1, 0.9]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (w * (0.3 + 0.04 * i)) % w, h * 0.5
    blob = np.exp(-(((xx - cx) / (w * 0.15)) ** 2 + ((yy - cy) / (h * 0.2)) ** 2))
    r = 0.2 + 0.5 * xx / w + 0.2 * blob
    g = 0.3 + 0.4 * yy / h + 0.1 * np.sin(xx / 5 + i)
    b = 0.5 + 0.3 * blob - 0.2 * xx / w
    return np.clip(np.stack([r, g, b], -1), 0.1, 0.9)


def make_clip(path: Path, *, size: tuple[int, int] = (64, 48), frames: int = 10, codec: str = "ffv1",
              pix_fmt: str = "yuv420p", rate: int = 25, vfr: bool = False, audio: int = 1,
              audio_codec: str = "aac", subtitles: bool = False, rotation: int = 0,
              title: str | None = None, colorspace: int = 6, color_range: int = 1,
              primaries: int | None = None, trc: int | None = None, options: dict | None = None) -> Path:
    """Write a clip; returns its path. vfr gives irregular frame durations (time base 1/1000)."""
    w, h = size
    primaries = colorspace if primaries is None else primaries
    trc = (1 if colorspace == 1 else 6) if trc is None else trc
    srt = None
    with av.open(str(path), "w") as c:
        if title:
            c.metadata["title"] = title
        vs = c.add_stream(codec, rate=rate, options=options or {})
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        tb = Fraction(1, 1000) if vfr else Fraction(1, rate)
        vs.time_base = tb
        vs.codec_context.time_base = tb
        cc = vs.codec_context
        cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = colorspace, color_range, primaries, trc
        if rotation:
            vs.set_display_rotation(rotation)
        astreams = []
        for k in range(audio):
            a = c.add_stream(audio_codec, rate=48000, layout="stereo")
            a.metadata["language"] = ["eng", "fra", "deu"][k % 3]
            astreams.append(a)
        if subtitles:
            sub_path = path.with_suffix(".srt")
            sub_path.write_text("1\n00:00:00,000 --> 00:00:00,200\nhello\n\n2\n00:00:00,200 --> 00:00:00,300\nworld\n\n")
            srt = av.open(str(sub_path))
            sub_out = c.add_stream_from_template(srt.streams[0])
        pts = 0
        for i in range(frames):
            rgb = (rgb_content(i, w, h) * 255).round().astype(np.uint8)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace=SWS_SPACE.get(colorspace, "ITU601"),
                dst_color_range=RANGE.get(color_range, "MPEG"))
            f.pts, f.time_base = pts, tb
            f.colorspace, f.color_range = colorspace, color_range
            pts += (40 if i % 3 else 73) if vfr else 1
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
        seconds = frames / rate + 0.1
        for k, a in enumerate(astreams):
            n = int(48000 * seconds)
            t = np.arange(n) / 48000
            tone = (0.2 * np.sin(2 * np.pi * (330 + 110 * k) * t)).astype(np.float32)
            step = a.codec_context.frame_size or 1024
            for s0 in range(0, n, step):
                chunk = np.ascontiguousarray(np.stack([tone[s0 : s0 + step]] * 2))
                fmt = a.codec_context.format.name
                if fmt == "s16":
                    chunk = (chunk.T.reshape(1, -1) * 32767).astype(np.int16)
                elif fmt == "flt":
                    chunk = np.ascontiguousarray(chunk.T.reshape(1, -1))
                elif fmt == "s16p":
                    chunk = (chunk * 32767).astype(np.int16)
                af = av.AudioFrame.from_ndarray(chunk, format=fmt if fmt in ("s16", "flt", "s16p") else "fltp",
                                                layout="stereo")
                af.sample_rate, af.pts, af.time_base = 48000, s0, Fraction(1, 48000)
                c.mux(a.encode(af))
            c.mux(a.encode(None))
        if srt is not None:
            for pk in srt.demux(srt.streams[0]):
                if pk.size:
                    pk.stream = sub_out
                    c.mux(pk)
            srt.close()
    return path


def video_frames(path: Path) -> list[tuple[int | None, list[np.ndarray]]]:
    """(pts, planes) of every decoded video frame."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            itemsize = 1 if f.format.components[0].bits <= 8 else 2
            dtype = np.uint8 if itemsize == 1 else np.uint16
            planes = [np.frombuffer(p, dtype).reshape(p.height, p.line_size // itemsize)[:, : p.width].copy()
                      for p in f.planes[:3]]
            out.append((f.pts, planes))
    return out


def packets(path: Path, kind: str) -> list[list[tuple[int | None, bytes]]]:
    """Per stream of a kind: its packets' (pts, bytes)."""
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        out: dict[int, list] = {s.index: [] for s in streams}
        if not streams:
            return []
        for p in c.demux(*streams):
            if p.size:
                out[p.stream.index].append((p.pts, bytes(p)))
    return list(out.values())


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)
