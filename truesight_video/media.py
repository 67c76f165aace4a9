"""Everything that touches PyAV: probing, decoding to YUV planes, encoding and muxing other streams."""
from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .errors import TruesightError, first_line
from .options import EncodeSettings

log = logging.getLogger("truesight_video")

# Planar formats handled natively (converted on the model's device); others go through swscale.
NATIVE_FORMATS = {
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
    "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv444p12le",
}
ENCODER_FOR = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libsvtav1",
    "mpeg4": "mpeg4", "ffv1": "ffv1", "prores": "prores_ks", "mjpeg": "mjpeg", "png": "png",
    "mpeg2video": "mpeg2video", "dnxhd": "dnxhd", "rawvideo": "rawvideo",
}
PQ, HLG = 16, 18


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about a clip's video stream."""

    path: str
    format_name: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    work_fmt: str
    bits: int
    time_base: Fraction
    rate: Fraction | None
    frames: int
    duration: float | None
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    audio_streams: int

    @property
    def chroma_shape(self) -> tuple[int, int]:
        f = av.VideoFormat(self.work_fmt)
        return f.chroma_height(self.height), f.chroma_width(self.width)

    @property
    def hdr(self) -> bool:
        return self.color_trc in (PQ, HLG)


@dataclass(frozen=True)
class Frame:
    """One decoded picture as integer planes (Y, U, V), with its timestamp."""

    planes: tuple[np.ndarray, ...]
    pts: int | None
    time: float


def _open_input(path: str | os.PathLike) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise TruesightError(f"input not found: {path}")
    if p.is_dir():
        raise TruesightError(f"input is a directory, not a media file: {path}")
    if p.stat().st_size == 0:
        raise TruesightError(f"input is empty: {path}")
    try:
        return av.open(str(p), "r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise TruesightError(f"not a readable media file: {path} ({first_line(e)})") from None


def _video_stream(container: av.container.InputContainer, path: str) -> av.VideoStream:
    streams = [s for s in container.streams.video
               if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        raise TruesightError(f"no video stream in {path}")
    return streams[0]


def _plane_view(plane: av.video.plane.VideoPlane, dtype: np.dtype) -> np.ndarray:
    """The plane's pixels as a (height, width) array sharing the frame's memory (no copy)."""
    a = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return a[:, : plane.width]


def _dtype(frame: av.VideoFrame) -> np.dtype:
    return np.dtype(np.uint8) if frame.format.components[0].bits <= 8 else np.dtype("<u2")


def frame_planes(frame: av.VideoFrame, work_fmt: str) -> tuple[np.ndarray, ...]:
    """A decoded frame's Y, U, V planes as numpy views (reformatting only if not native); the views
    keep the frame alive, so nothing is copied until the batch is assembled."""
    if frame.format.name != work_fmt:
        frame = frame.reformat(format=work_fmt)
    dtype = _dtype(frame)
    return tuple(_plane_view(p, dtype) for p in frame.planes[:3])


def planes_frame(planes: tuple[np.ndarray, ...], fmt: str) -> av.VideoFrame:
    """Build a VideoFrame of format fmt from Y, U, V integer planes (written in place, one copy)."""
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, fmt)
    dtype = _dtype(frame)
    for plane, data in zip(frame.planes, planes):
        _plane_view(plane, dtype)[...] = data
    return frame


def _work_format(pix_fmt: str) -> tuple[str, int]:
    if pix_fmt in NATIVE_FORMATS:
        return pix_fmt, av.VideoFormat(pix_fmt).components[0].bits
    try:
        bits = max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, av.FFmpegError):
        bits = 8
    return ("yuv444p10le", 10) if bits > 8 else ("yuv444p", 8)


def _info(container: av.container.InputContainer, vs: av.VideoStream, path: str) -> VideoInfo:
    cc = vs.codec_context
    pix_fmt = cc.pix_fmt or "yuv420p"
    work_fmt, bits = _work_format(pix_fmt)
    duration = None
    if vs.duration and vs.time_base:
        duration = float(vs.duration * vs.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    return VideoInfo(
        path=path, format_name=container.format.name, codec=cc.name, width=cc.width, height=cc.height,
        pix_fmt=pix_fmt, work_fmt=work_fmt, bits=bits, time_base=vs.time_base,
        rate=vs.average_rate or vs.guessed_rate, frames=vs.frames or 0, duration=duration,
        colorspace=cc.colorspace, color_range=cc.color_range, color_primaries=cc.color_primaries,
        color_trc=cc.color_trc, audio_streams=len(container.streams.audio),
    )


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe a clip's video stream, or raise TruesightError naming what is wrong."""
    with _open_input(path) as c:
        return _info(c, _video_stream(c, str(path)), str(path))


class VideoReader:
    """Iterator over a clip: decoded video Frames and, interleaved in file order, the packets of
    every other stream (to be copied). Use as a context manager so the container closes."""

    def __init__(self, path: str | os.PathLike, start: float = 0.0, duration: float | None = None) -> None:
        self.path = str(path)
        self.start = start
        self.end = None if duration is None else start + duration
        self.container = _open_input(path)
        try:
            self.stream = _video_stream(self.container, self.path)
            self.stream.thread_type = "AUTO"
            self.info = _info(self.container, self.stream, self.path)
            self._check_decodable()
        except BaseException:
            self.container.close()
            raise
        self.other_streams = [s for s in self.container.streams if s.index != self.stream.index]
        self.decoded = 0
        self.rotation = 0

    def _check_decodable(self) -> None:
        if not self.info.width or not self.info.height:
            raise TruesightError(f"video stream of {self.path} has no size (codec {self.info.codec!r})")
        if self.start < 0:
            raise TruesightError(f"--start must be >= 0, got {self.start}")
        if self.info.duration is not None and self.start >= self.info.duration > 0:
            raise TruesightError(f"--start {self.start} is past the end of {self.path} ({self.info.duration:.2f}s)")

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def _offset(self, stream: av.stream.Stream) -> int:
        return int(round(self.start / stream.time_base)) if self.start and stream.time_base else 0

    def __iter__(self) -> Iterator[Frame | av.Packet]:
        vs = self.stream
        if self.start > 0:
            self.container.seek(int(self.start / vs.time_base), stream=vs, backward=True, any_frame=False)
        video_done = False
        last_time = None
        try:
            for packet in self.container.demux():
                if packet.stream.index != vs.index:
                    item = self._other_packet(packet)
                    if item is None:
                        if video_done and packet.pts is not None and self.end is not None:
                            break
                        continue
                    yield item
                    continue
                if video_done:
                    continue
                for frame in vs.decode(packet):
                    out = self._video_frame(frame)
                    if out is False:
                        video_done = True
                        break
                    if out is not None:
                        last_time = out.time
                        yield out
        except av.FFmpegError as e:
            where = f"after frame {self.decoded}" + (f" (t={last_time:.3f}s)" if last_time is not None else "")
            raise TruesightError(f"corrupt or truncated input {self.path}: decoding stopped {where}: {first_line(e)}") from None
        self._check_complete(last_time)

    def _video_frame(self, frame: av.VideoFrame) -> Frame | None | bool:
        t = float(frame.time) if frame.time is not None else self.decoded / float(self.info.rate or 25)
        if t < self.start - 1e-6:
            return None
        if self.end is not None and t >= self.end - 1e-6:
            return False
        if self.decoded == 0:
            self.rotation = frame.rotation
        pts = frame.pts
        if pts is not None and self.start:
            pts -= self._offset(self.stream)
        self.decoded += 1
        return Frame(frame_planes(frame, self.info.work_fmt), pts, t)

    def _other_packet(self, packet: av.Packet) -> av.Packet | None:
        if packet.dts is None and packet.pts is None:
            return None if packet.size == 0 else packet
        if packet.size == 0:
            return None
        if not self.start and self.end is None:
            return packet
        tb = packet.stream.time_base
        ts = packet.pts if packet.pts is not None else packet.dts
        t = float(ts * tb) if tb else 0.0
        if t < self.start - 1e-6 or (self.end is not None and t >= self.end - 1e-6):
            return None
        if self.start:
            off = self._offset(packet.stream)
            if packet.pts is not None:
                packet.pts -= off
            if packet.dts is not None:
                packet.dts -= off
        return packet

    def _check_complete(self, last_time: float | None) -> None:
        if self.decoded == 0:
            raise TruesightError(f"no decodable video frames in {self.path}" + (f" after --start {self.start}" if self.start else ""))
        if self.start or self.end is not None:
            return
        expected = self.info.frames
        if expected and self.decoded < expected:
            raise TruesightError(
                f"truncated input {self.path}: decoding stopped at frame {self.decoded} of {expected}"
                + (f" (t={last_time:.3f}s)" if last_time is not None else ""))
        dur = self.info.duration
        # container durations can include a longer audio track: only a clear shortfall counts
        if not expected and dur and last_time is not None and dur - last_time > max(1.0, 0.1 * dur):
            raise TruesightError(
                f"truncated input {self.path}: decoding stopped at t={last_time:.3f}s of {dur:.3f}s (frame {self.decoded})")


def _can_mux(format_name: str, stream: av.stream.Stream) -> bool:
    """Whether this container format accepts a packet copy of stream (tried in memory)."""
    name = stream.codec_context.name if stream.codec_context else ""
    if format_name == "mp4" and name.startswith("pcm_"):
        return False  # the header is accepted, but FFmpeg's mp4 trailer then fails on copied PCM
    try:
        with av.open(io.BytesIO(), "w", format=format_name) as probe_out:
            probe_out.add_stream_from_template(stream)
            probe_out.start_encoding()
        return True
    except (av.FFmpegError, ValueError, TypeError, NotImplementedError):
        return False


def _pick_encoder(info: VideoInfo, settings: EncodeSettings) -> str:
    if settings.codec:
        try:
            av.codec.Codec(settings.codec, "w")
        except (av.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
            raise TruesightError(f"unknown encoder --codec {settings.codec!r}") from None
        return settings.codec
    name = ENCODER_FOR.get(info.codec, info.codec)
    try:
        av.codec.Codec(name, "w")
        return name
    except (av.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
        log.warning("no encoder for %s; writing H.264 (libx264) instead", info.codec)
        return "libx264"


def _pick_pix_fmt(codec: str, info: VideoInfo, settings: EncodeSettings, width: int, height: int) -> str:
    supported = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    if settings.pix_fmt:
        if supported and settings.pix_fmt not in supported:
            raise TruesightError(f"--pix-fmt {settings.pix_fmt!r} is not supported by {codec} (try: {', '.join(supported[:8])})")
        return settings.pix_fmt
    if not supported or info.pix_fmt in supported:
        fmt = info.pix_fmt
    elif info.bits > 8 and any(f.endswith("10le") for f in supported):
        fmt = next(f for f in supported if f.startswith("yuv420p10"))
    else:
        fmt = "yuv420p" if "yuv420p" in supported else supported[0]
        log.warning("%s cannot encode %s; writing %s", codec, info.pix_fmt, fmt)
    vf = av.VideoFormat(fmt)
    subsampled = vf.chroma_width(width) != width or vf.chroma_height(height) != height
    if (width % 2 or height % 2) and subsampled and codec in ("libx264", "libx265"):
        alt = "yuv444p10le" if vf.components[0].bits > 8 else "yuv444p"
        if alt in supported:
            log.warning("%s needs even sizes for %s; %dx%d is written as %s", codec, fmt, width, height, alt)
            fmt = alt
    return fmt


def _encoder_options(codec: str, settings: EncodeSettings) -> dict[str, str]:
    crf = settings.crf
    if codec in ("libx264", "libx265"):
        opts = {"crf": str(18 if crf is None else crf), "preset": settings.preset or "medium"}
        if codec == "libx265":
            opts["x265-params"] = "log-level=error"
        return opts
    if codec in ("libvpx-vp9", "libvpx"):
        return {"crf": str(20 if crf is None else crf), "b": "0", "row-mt": "1",
                "cpu-used": settings.preset if settings.preset and settings.preset.isdigit() else "4",
                "deadline": "good"}
    if codec in ("libsvtav1", "libaom-av1"):
        return {"crf": str(24 if crf is None else crf), "preset": settings.preset or "8"}
    return {}


class VideoWriter:
    """Encodes frames of planes into a new file and copies (or transcodes) every other stream."""

    def __init__(self, path: str | os.PathLike, reader: VideoReader, settings: EncodeSettings,
                 width: int | None = None, format_name: str | None = None) -> None:
        info = reader.info
        self.info = info
        self.width = width or info.width
        self.height = info.height
        self.out = av.open(str(path), "w", format=format_name)
        try:
            self._setup(reader, settings)
        except BaseException:
            self.out.close()
            raise

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                self.finish()
        finally:
            self.out.close()

    def _setup(self, reader: VideoReader, settings: EncodeSettings) -> None:
        info, out = self.info, self.out
        codec = _pick_encoder(info, settings)
        self.pix_fmt = _pick_pix_fmt(codec, info, settings, self.width, self.height)
        try:
            vs = out.add_stream(codec, rate=info.rate if info.rate else None)
        except (av.FFmpegError, ValueError) as e:
            raise TruesightError(f"cannot write {codec} into {out.format.name} ({first_line(e)}); choose another --codec or extension") from None
        vs.width, vs.height, vs.pix_fmt = self.width, self.height, self.pix_fmt
        vs.time_base = info.time_base
        vs.codec_context.time_base = info.time_base
        cc = vs.codec_context
        cc.color_range = info.color_range
        cc.colorspace = info.colorspace
        cc.color_primaries = info.color_primaries
        cc.color_trc = info.color_trc
        if settings.threads:
            cc.thread_count = settings.threads
        cc.thread_type = "AUTO"
        vs.options = _encoder_options(codec, settings)
        if info.hdr:
            log.warning("HDR input (%s): colour tags are kept, mastering/light-level metadata is not copied",
                        "PQ" if info.color_trc == PQ else "HLG")
        rotation = getattr(reader, "rotation", 0)
        if rotation:
            vs.set_display_rotation(rotation)
        self.video = vs
        self.codec = codec
        for key in ("timecode", "language", "title"):
            if key in reader.stream.metadata:
                vs.metadata[key] = reader.stream.metadata[key]
        out.metadata.update({k: v for k, v in reader.container.metadata.items() if k.lower() != "encoder"})
        self.copy: dict[int, av.stream.Stream] = {}
        self.transcode: dict[int, tuple[av.stream.Stream, av.stream.Stream]] = {}
        for s in reader.other_streams:
            self._add_other(s)

    def _add_other(self, s: av.stream.Stream) -> None:
        fmt = self.out.format.name.split(",")[0]
        if s.type == "data" and "timecode" in s.metadata:
            # a QuickTime timecode track: copied packets break the mov trailer, but the muxer
            # rebuilds the track from the video stream's timecode tag (mkv keeps the tag itself)
            self.video.metadata["timecode"] = s.metadata["timecode"]
            return
        kind = "cover art" if s.disposition & av.stream.Disposition.attached_pic else s.type
        if _can_mux(fmt, s):
            o = self.out.add_stream_from_template(s)
            o.metadata.update(s.metadata)
            o.disposition = s.disposition
            self.copy[s.index] = o
            return
        if s.type == "audio":
            codec = "libopus" if fmt in ("webm",) else "aac"
            o = self.out.add_stream(codec, rate=48000 if codec == "libopus" else s.codec_context.sample_rate)
            n = s.codec_context.layout.nb_channels
            o.layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(n, "stereo")  # a named layout
            o.format = "flt" if codec == "libopus" else "fltp"
            o.metadata.update(s.metadata)
            self.transcode[s.index] = (s, o)
            log.warning("audio stream %d (%s) cannot be copied into %s; transcoding to %s",
                        s.index, s.codec_context.name, fmt, codec)
            return
        name = getattr(s.codec_context, "name", None) if s.codec_context else None
        log.warning("%s stream %d (%s) cannot be stored in %s; dropped", kind, s.index,
                    name or s.metadata.get("handler_name") or "?", fmt)

    def write(self, planes: tuple[np.ndarray, ...], pts: int | None, work_fmt: str) -> None:
        """Encode one frame given as integer planes in work_fmt."""
        frame = planes_frame(planes, work_fmt)
        if work_fmt != self.pix_fmt:
            frame = frame.reformat(format=self.pix_fmt)
        frame.pts = pts
        frame.time_base = self.info.time_base
        frame.color_range = self.info.color_range
        frame.colorspace = self.info.colorspace
        self.out.mux(self.video.encode(frame))

    def mux(self, packet: av.Packet) -> None:
        """Copy (or transcode) a packet of another stream."""
        idx = packet.stream.index
        if idx in self.copy:
            packet.stream = self.copy[idx]
            self.out.mux(packet)
        elif idx in self.transcode:
            src, o = self.transcode[idx]
            for frame in src.codec_context.decode(packet):
                frame.pts = None
                self.out.mux(o.encode(frame))

    def finish(self) -> None:
        """Flush the encoders."""
        self.out.mux(self.video.encode(None))
        for src, o in self.transcode.values():
            for frame in src.codec_context.decode(None):
                frame.pts = None
                self.out.mux(o.encode(frame))
            self.out.mux(o.encode(None))



def transcode(src: str | os.PathLike, dst: str | os.PathLike, settings: EncodeSettings) -> int:
    """Decode and re-encode the video stream with no conversion or model: the codec's own speed."""
    with VideoReader(src) as reader, av.open(str(dst), "w") as out:
        info = reader.info
        codec = _pick_encoder(info, settings)
        vs = out.add_stream(codec, rate=info.rate if info.rate else None)
        vs.width, vs.height = info.width, info.height
        vs.pix_fmt = _pick_pix_fmt(codec, info, settings, info.width, info.height)
        vs.time_base = vs.codec_context.time_base = info.time_base
        vs.codec_context.thread_type = "AUTO"
        vs.options = _encoder_options(codec, settings)
        n = 0
        for frame in reader.container.decode(reader.stream):
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


def iter_rgb(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Every frame of a clip as HxWx3 RGB uint8 (for synthesis from high-frame-rate video)."""
    with VideoReader(path) as reader:
        for frame in reader.container.decode(reader.stream):
            yield frame.to_ndarray(format="rgb24")


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
    """(RGB uint8 frame, time in seconds, frame rate) of a clip from `start`, converted with the
    stream's own matrix and range (for previews)."""
    from .colour import info_spec, yuv_to_rgb
    import torch

    with VideoReader(path, start=start) as reader:
        info = reader.info
        spec = info_spec(info)
        rate = float(info.rate) if info.rate else 25.0
        for item in reader:
            if isinstance(item, Frame):
                y, u, v = (torch.from_numpy(p.astype(np.int32))[None] for p in item.planes)
                rgb = yuv_to_rgb(y, u, v, spec)[0].mul(255).round().byte().permute(1, 2, 0).contiguous().numpy()
                yield rgb, item.time, rate
