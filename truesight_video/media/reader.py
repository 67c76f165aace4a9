"""Reading a clip: opens it, describes what a player would show (a Layout), then yields decoded video
frames as integer planes and, in file order, the packets of every other stream."""
from __future__ import annotations

import heapq
import logging
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np

from ..colour import ColourSpec, info_spec, sws_args
from ..errors import ParameterError, TruesightError, first_line
from . import timecode
from .captions import frame_captions
from .layout import FIELD_BB, FIELD_BT, FIELD_TB, FIELD_TT, OPEN_CUE_MAX, TEXT_SUBTITLES, Layout, OtherStream, VideoInfo
from .sidedata import hdr_dynamic, hdr_metadata, side_data

log = logging.getLogger("truesight_video")

# Planar formats handled natively (converted on the model's device); others go through swscale.
NATIVE_FORMATS = {
    "yuv420p", "yuv422p", "yuv444p",
    "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv444p12le",
}
# JPEG-range twins: the same planes, but swscale would squeeze them into limited range on a reformat
YUVJ = {"yuvj420p": "yuv420p", "yuvj422p": "yuv422p", "yuvj444p": "yuv444p"}
UNSPECIFIED, RANGE_FULL = 2, 2


@dataclass(frozen=True)
class Frame:
    """One decoded picture as integer planes (Y, U, V), its output timestamp, its time in seconds
    from the clip's start and the closed-caption triplets that came with it."""

    planes: tuple[np.ndarray, ...]
    pts: int | None
    time: float
    captions: bytes = b""


REORDER_MAX = 16  # slots a frame of a stream with B-frames may show before its own packet's (H.264's reorder limit)


def _display_slot(slots: list[int], own: int | None, depth: int) -> int | None:
    """An AVI frame's time: the earliest packet slot not yet taken (a heap), once the slots of packets
    that gave no frame (skipped by the decoder) are dropped: a frame shows at most `depth` slots before
    its own packet's (0 without B-frames)."""
    while own is not None and slots and slots[0] < own - depth:
        heapq.heappop(slots)
    return heapq.heappop(slots) if slots else own


def open_input(path: str | os.PathLike) -> av.container.InputContainer:
    """Open a media file for reading, or raise a one-line TruesightError saying what is wrong."""
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


def video_stream(container: av.container.InputContainer, path: str) -> av.VideoStream:
    """The clip's main video stream: the default one, else the first (never cover art)."""
    streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        raise TruesightError(f"no video stream in {path}")
    default = [s for s in streams if s.disposition & av.stream.Disposition.default]
    return (default or streams)[0]


def _plane_view(plane: av.video.plane.VideoPlane, dtype: np.dtype) -> np.ndarray:
    """The plane's pixels as a (height, width) array sharing the frame's memory (no copy)."""
    a = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return a[:, : plane.width]


def plane_dtype(frame: av.VideoFrame) -> np.dtype:
    """uint8 for 8-bit formats, little-endian uint16 for deeper ones."""
    return np.dtype(np.uint8) if frame.format.components[0].bits <= 8 else np.dtype("<u2")


def frame_planes(frame: av.VideoFrame, work_fmt: str, spec: ColourSpec | None = None) -> tuple[np.ndarray, ...]:
    """A decoded frame's Y, U, V planes as numpy views (reformatting only if not native); the views
    keep the frame alive, so nothing is copied until the batch is assembled. An RGB frame becomes YUV
    with spec's matrix and range (swscale's default, BT.601 limited, would not be what we decode)."""
    name = frame.format.name
    if name != work_fmt and YUVJ.get(name) != work_fmt:
        if frame.format.is_rgb and spec is not None:
            matrix, rng = sws_args(spec)
            frame = frame.reformat(format=work_fmt, dst_colorspace=matrix, dst_color_range=rng)
        else:
            frame = frame.reformat(format=work_fmt)
    dtype = plane_dtype(frame)
    return tuple(_plane_view(p, dtype) for p in frame.planes[:3])


def planes_frame(planes: tuple[np.ndarray, ...], fmt: str) -> av.VideoFrame:
    """Build a VideoFrame of format fmt from Y, U, V integer planes (written in place, one copy)."""
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, fmt)
    dtype = plane_dtype(frame)
    for plane, data in zip(frame.planes, planes):
        _plane_view(plane, dtype)[...] = data
    return frame


def work_format(pix_fmt: str) -> tuple[str, int]:
    """The planar format frames are handed to the model in, and its bit depth."""
    pix_fmt = YUVJ.get(pix_fmt, pix_fmt)
    if pix_fmt in NATIVE_FORMATS:
        return pix_fmt, av.VideoFormat(pix_fmt).components[0].bits
    try:
        bits = max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, av.FFmpegError):
        bits = 8
    return ("yuv444p10le", 10) if bits > 8 else ("yuv444p", 8)


def _label(s: av.stream.Stream) -> str:
    handler = s.metadata.get("handler_name", "").strip("\t\x00\x1f ")
    return handler or codec_name(s) or s.metadata.get("filename") or "?"


def codec_name(s: av.stream.Stream) -> str:
    """The codec's name, not its decoder's (AV1 is decoded by libdav1d, MP3 by mp3float)."""
    cc = getattr(s, "codec_context", None)
    if cc is None:
        return ""
    return (cc.codec.canonical_name if cc.codec is not None else cc.name) or ""


def _other(s: av.stream.Stream, chapters: bool) -> OtherStream:
    cover = bool(s.disposition & av.stream.Disposition.attached_pic)
    tc = s.metadata.get("timecode") if s.type == "data" else None
    # QuickTime keeps chapter titles in a text track, which FFmpeg reads into the chapters and then hides
    chapter_track = chapters and s.type == "data" and s.discard == av.stream.Discard.all and not codec_name(s)
    kind = "cover" if cover else "chapters" if chapter_track else s.type
    return OtherStream(index=s.index, kind=kind, codec=codec_name(s), label=_label(s), stream=s, timecode=tc)


def _stated_length(container: av.container.InputContainer, vs: av.VideoStream, origin: float) -> float | None:
    """The clip's length in seconds as the file states it, if it does: the video stream's, else the
    container's, which can include a longer audio track. Matroska states where its last packet ends,
    not a length: a clip cut with its timestamps kept (starting at 30 s) would otherwise last 30 s more."""
    if vs.duration and vs.time_base:
        return float(vs.duration * vs.time_base)
    if not container.duration:
        return None
    end = container.duration / av.time_base
    return end - origin if container.format.name.startswith("matroska") else end


def _top_field_first(frame: av.VideoFrame) -> bool:
    """Whether an interlaced frame shows its top field first. PyAV does not give the frame's flag, but
    FFmpeg's separatefields follows it: given a picture whose even rows are black and odd rows white
    (drawn over this frame, its flags kept), the field it puts out first says which."""
    g = av.filter.Graph()
    chain = [g.add_buffer(width=frame.width, height=frame.height, format=frame.format.name, time_base=Fraction(1, 25)),
             g.add("format", "gray"), g.add("geq", "lum='255*mod(Y,2)'"), g.add("separatefields"), g.add("buffersink")]
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    g.configure()
    g.push(frame)
    return int(g.pull().to_ndarray()[0, 0]) == 0


def _field_order(frame: av.VideoFrame, tag: int) -> int:
    """An interlaced clip's field order as its first picture has it: containers and parsers guess (x264's
    bottom-first H.264 in MPEG-TS says top first, DV in MOV says nothing); the stream's tag where it agrees."""
    if not frame.interlaced_frame:
        return tag
    top = _top_field_first(frame)
    if tag in ((FIELD_TT, FIELD_BT) if top else (FIELD_BB, FIELD_TB)):
        return tag
    return FIELD_TT if top else FIELD_BB


def _info(container: av.container.InputContainer, vs: av.VideoStream, first: av.VideoFrame, path: str,
          origin: float) -> VideoInfo:
    """The video as decoded: tags a frame carries win over the container's (a GoPro file says
    'limited' in its colour box while its pixels, yuvj420p, are full range)."""
    cc = vs.codec_context
    pix_fmt = first.format.name
    work_fmt, bits = work_format(pix_fmt)
    fmt = av.VideoFormat(work_fmt)

    def tag(frame_value: int, stream_value: int) -> int:
        return frame_value if frame_value not in (0, UNSPECIFIED) else stream_value

    colour_range = RANGE_FULL if pix_fmt.startswith("yuvj") else (first.color_range or cc.color_range)
    sar = cc.sample_aspect_ratio
    extra = side_data(first)
    return VideoInfo(
        path=path, format_name=container.format.name, codec=codec_name(vs), codec_tag=cc.codec_tag or "",
        width=first.width, height=first.height, pix_fmt=pix_fmt, work_fmt=work_fmt, bits=bits,
        chroma_height=fmt.chroma_height(first.height), chroma_width=fmt.chroma_width(first.width),
        time_base=vs.time_base, rate=vs.average_rate or vs.guessed_rate, frames=vs.frames or 0,
        duration=_stated_length(container, vs, origin), origin=origin,
        colorspace=tag(first.colorspace, cc.colorspace), color_range=colour_range,
        color_primaries=tag(first.color_primaries, cc.color_primaries), color_trc=tag(first.color_trc, cc.color_trc),
        rotation=int(first.rotation or 0), interlaced=bool(first.interlaced_frame),
        field_order=_field_order(first, cc.field_order),
        sample_aspect_ratio=Fraction(sar) if sar and sar.numerator else None, bit_rate=cc.bit_rate or 0,
        b_frames=bool(cc.has_b_frames),
        disposition=int(vs.disposition), metadata=dict(vs.metadata),
        audio_streams=len(container.streams.audio), rgb=first.format.is_rgb, hdr_metadata=hdr_metadata(extra),
        hdr_dynamic=hdr_dynamic(extra))


SLOW_TRACK = 2.0  # seconds


def _seek_keyframe(container: av.container.InputContainer, vs: av.VideoStream, origin: float, target: float) -> None:
    """Seek a container to the keyframe of `vs` at or before `target` seconds from the clip's start."""
    container.seek(int((origin + target) / vs.time_base), stream=vs, backward=True, any_frame=False)


CUE_LOOKBACK = 30.0  # seconds before a window's first frame searched for the text cues still on there


def _cues_before(path: str, video: int, texts: set[int], since: float, until: float,
                 origin: float) -> list[tuple[int, av.Packet]]:
    """The text subtitle packets of streams `texts` from the keyframe before `since` up to `until` (seconds
    from the clip's start), in file order, with their stream's index: a window's seek lands on the keyframe
    before --start, and in Matroska a cue muxed before that keyframe (a line begun two seconds earlier) was
    never read."""
    out = []
    with open_input(path) as c:
        vs = c.streams[video]
        if since > 0:
            _seek_keyframe(c, vs, origin, since)
        for s in c.streams:  # after the seek: MPEG-TS seeks by reading the video stream's timestamps
            keep = s.index in texts or s.index == video  # the video says when the file has passed `until`
            s.discard = av.stream.Discard.default if keep else av.stream.Discard.all
        left = set(texts)
        for p in c.demux():
            ts = p.pts if p.pts is not None else p.dts
            if ts is None or not p.time_base:
                continue
            t = float(ts * p.time_base) - origin
            if p.stream.index == video:
                if t >= until + SLOW_TRACK:  # a track with no cue after the window's start: not read to the end
                    break
            elif t >= until - 1e-6:
                left.discard(p.stream.index)
                if not left:
                    break
            elif p.size:
                out.append((p.stream.index, p))
    return out


class VideoReader:
    """A clip opened for sharpening. `layout` describes it as soon as it is open (the first frame is
    decoded then, since rotation and the true colour range live on frames); iterating yields Frames
    and other streams' packets in file order. Use it as a context manager so the container closes."""

    def __init__(self, path: str | os.PathLike, start: float = 0.0, duration: float | None = None) -> None:
        if start < 0:
            raise ParameterError("start", f"must be >= 0, got {start}")
        if duration is not None and duration <= 0:
            raise ParameterError("duration", f"must be > 0, got {duration}")
        self.path = str(path)
        self.start = start
        self.end = None if duration is None else start + duration
        self.container = open_input(path)
        try:
            self.stream = video_stream(self.container, self.path)
            self.stream.thread_type = "AUTO"
            st = self.container.start_time
            self.origin = st / av.time_base if st is not None else 0.0
            self.decoded = 0
            self.discarded = 0  # video packets an edit list hides: the container counts them, players do not
            self.packets = 0
            self._pts_span: tuple[int, int] | None = None  # of the video packets read
            self._reached = float("-inf")  # the latest time any stream's packets reached, in seconds
            self._past_end: float | None = None  # the time of the first frame past --duration's window
            self._keyed: set[int] = set()  # copied video tracks of a window that have reached a keyframe
            # a window's text cues without a duration, begun before its first frame: (packet, its start in seconds)
            self._open_cues: dict[int, tuple[av.Packet, float]] = {}
            self._early: list[av.Packet] = []  # a window's text cues from before its first frame (_cues_before)
            self._early_streams: set[int] = set()  # the streams they were read for
            self._sought = 0.0  # where a window's seek aimed, in seconds from the clip's start
            self._last_pts: int | None = None
            self._video_done = False  # past --duration's end: later video packets are not decoded
            self._pending: deque = deque()
            chapters = tuple(self.container.chapters()) if hasattr(self.container, "chapters") else ()
            others = tuple(_other(s, bool(chapters)) for s in self.container.streams if s.index != self.stream.index)
            for o in others:
                if o.kind != "chapters" and o.stream.discard != av.stream.Discard.default:
                    # the mov demuxer hides some data tracks (a GoPro's SOS) unless asked: shown before the first
                    # packet is read (when the writer asked, the first seven had gone by)
                    o.stream.discard = av.stream.Discard.default
            self._demux = self._demux_all()
            if start > 0:
                length = _stated_length(self.container, self.stream, self.origin)
                if length is not None and start >= length:
                    raise ParameterError("start", f"{start} is past the end of {self.path} ({length:.2f}s)")
            first = self._seek_and_peek(start) if start > 0 else self._peek()
            if first is None:
                raise TruesightError(f"no decodable video frames in {self.path}"
                                     + (f" after --start {start}" if start else ""))
            self._first_pts = first.pts or 0
            self._first_time = self._time(first)  # seconds from the clip's start
            info = _info(self.container, self.stream, first, self.path, self.origin)
            if info.width == 0 or info.height == 0:
                raise TruesightError(f"video stream of {self.path} has no size (codec {info.codec!r})")
            self.info = info
            self._spec = info_spec(info)
            metadata = dict(self.container.metadata)
            if start > 0:  # a window's timecode is its first frame's, not the clip's
                st = self.stream.start_time
                late = (self._first_time if st is None or first.pts is None
                        else float((first.pts - st) * self.stream.time_base))
                info, others, metadata = timecode.moved(info, others, metadata, round(late * float(info.rate or 0)))
                self.info = info
                self._read_early_cues(others)
            # a --start window's timestamps are moved to begin at its first frame (see _offset)
            self.layout = Layout(video=info, others=others, metadata=metadata,
                                 chapters=chapters, begins=0.0 if start else self.origin, window_start=start,
                                 first_frame=float(self._first_pts * self.stream.time_base))
            self._step = self._frame_step(info)
        except BaseException:
            self.container.close()
            raise

    def _read_early_cues(self, others: tuple[OtherStream, ...]) -> None:
        """Read a window's text cues from before its first frame on their own (see _cues_before)."""
        texts = {o.index for o in others if o.kind == "subtitle" and o.codec in TEXT_SUBTITLES}
        if not texts or self.container.format.name.startswith("mov,"):
            return  # the mov demuxer seeks each track to its own sample at or before the time
        # from before where the main read began (MPEG-TS may have sought far back), so every cue is read once
        since = min(self._first_time - CUE_LOOKBACK, self._sought - 1.0)
        try:
            found = _cues_before(self.path, self.stream.index, texts, since, self._first_time, self.origin)
        except (av.FFmpegError, TruesightError) as e:
            log.warning("cannot read the subtitles before --start %g: %s; a cue begun before it may be missing",
                        self.start, first_line(e))
            return
        for index, p in found:
            p.stream = self.container.streams[index]  # the packet's data outlives the closed container
            self._early.append(p)
        self._early_streams = texts

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    @staticmethod
    def _frame_step(info: VideoInfo) -> int:
        """One frame's duration in the stream's time base (for frames a container gives no time)."""
        if info.rate and info.time_base:
            return max(1, round(1 / (info.rate * info.time_base)))
        return 1

    def _seek_and_peek(self, start: float) -> av.VideoFrame | None:
        """Seek to a keyframe before start and peek its first shown frame. Seeking is only as exact as
        the container's index (MPEG-TS has none: it seeks by bytes, and what follows may not decode
        until the next keyframe), so when the first frame decoded lies past start, seek further back."""
        margin = 0.0
        while True:
            self._pending.clear()
            self.discarded = self.packets = 0
            self._pts_span = None
            self._demux = self._demux_all()
            # at the clip's start, seek a second before it: MPEG-TS finds a time by bisecting bytes from its
            # start time, which with B-frames lies past the first keyframe's data (AVI and FLV refuse it)
            target = start - margin if start > margin else -1.0
            self._sought = target
            try:
                try:
                    self._seek(target)
                except av.FFmpegError:
                    if target >= 0:
                        raise
                    self._seek(0.0)
            except av.FFmpegError as e:
                raise TruesightError(f"cannot seek to --start {start} in {self.path}: {first_line(e)}") from None
            frame = self._peek()
            firsts = [obj for kind, obj in self._pending if kind == "frame"]
            if target < 0 or (firsts and self._time(firsts[0]) <= start + 1e-6):
                return frame
            margin = 2 * margin if margin else 1.0

    def _seek(self, target: float) -> None:
        """Seek to the keyframe at or before target seconds from the clip's start."""
        _seek_keyframe(self.container, self.stream, self.origin, target)

    def _demux_all(self) -> Iterator[tuple[str, Any]]:
        """('frame', av.VideoFrame) and ('packet', av.Packet) in file order, decoders flushed at the end."""
        vs = self.stream
        # AVI keeps no display times: FFmpeg stamps each packet with its decode slot (delayed by the
        # reordering), so frames of a stream with B-frames come out carrying other frames' slots; shown
        # in order, they take those slots in order (AVI's time base is one frame: a slot is a tick)
        slots: list[int] | None = [] if self.container.format.name == "avi" else None
        keyed = False
        for packet in self.container.demux():
            if packet.pts is not None and packet.stream.time_base:
                self._reached = max(self._reached, float(packet.pts * packet.stream.time_base))
            if packet.stream.index != vs.index:
                yield "packet", packet
                continue
            if self._video_done:
                if self._past_window():  # a sparse stream (subtitles) may have nothing more: stop anyway
                    return
                continue
            if packet.size:
                if packet.is_discard:
                    self.discarded += 1
                else:
                    self.packets += 1
                    if packet.pts is not None:
                        lo, hi = self._pts_span or (packet.pts, packet.pts)
                        self._pts_span = (min(lo, packet.pts), max(hi, packet.pts))
                    if slots is not None:
                        # packets before the first keyframe (a cut capture's, a seek's) give no frame: no slot
                        keyed = keyed or packet.is_keyframe
                        slot = packet.pts if packet.pts is not None else packet.dts
                        if keyed and slot is not None:
                            heapq.heappush(slots, slot)
            for frame in vs.decode(packet):
                if slots is not None:
                    frame.pts = _display_slot(slots, frame.pts, REORDER_MAX if vs.codec_context.has_b_frames else 0)
                yield "frame", frame

    def _peek(self) -> av.VideoFrame | None:
        """Demux until the first shown video frame, keeping everything read for the iteration."""
        try:
            for kind, obj in self._demux:
                self._pending.append((kind, obj))
                if kind == "frame" and self._time(obj) >= self.start - 1e-6:
                    return obj
        except av.FFmpegError as e:
            raise TruesightError(f"corrupt input {self.path}: cannot decode its first video frame: {first_line(e)}") from None
        return None

    def _time(self, frame: av.VideoFrame) -> float:
        """Seconds from the clip's start (PyAV gives flushed frames no time base, so count it here)."""
        if frame.pts is None:
            return self.decoded / float(self.stream.average_rate or 25)
        return float(frame.pts * self.stream.time_base) - self.origin

    def __iter__(self) -> Iterator[Frame | av.Packet]:
        last_time = None
        items = iter(self._pending_then_live())
        # a window's other streams are read on past its end until each has passed it (or the file has run
        # SLOW_TRACK seconds beyond): a GoPro writes the telemetry of a second after that second's video
        waiting = {o.index for o in self.layout.others if o.kind != "chapters"}
        for q in self._early:
            kept = self._other_packet(q, early=True)
            if kept is not None:
                yield kept
        self._early = []
        try:
            for kind, obj in items:
                if kind == "packet":
                    packet = self._other_packet(obj)
                    if packet is not None and packet.stream.index in self._open_cues:
                        yield from self._cues_on_at_start(packet.stream.index)  # in order, before the next
                    if packet is None:
                        if (self._video_done and obj.pts is not None and self.end is not None and obj.stream.time_base
                                and float(obj.pts * obj.stream.time_base) - self.origin >= self.end - 1e-6):
                            waiting.discard(obj.stream.index)  # past the end (not an empty packet inside it)
                            if not waiting or self._past_window():
                                break
                        continue
                    yield packet
                    continue
                if self._video_done:
                    continue
                out = self._video_frame(obj)
                if out is False:
                    self._video_done = True
                    if not self.layout.others:  # nothing else to copy up to the end: the rest is not read
                        break
                elif out is not None:
                    last_time = out.time
                    if self._open_cues:
                        yield from self._cues_on_at_start()
                    yield out
        except av.FFmpegError as e:
            where = f"after frame {self.decoded}" + (f" (t={last_time:.3f}s)" if last_time is not None else "")
            raise TruesightError(f"corrupt or truncated input {self.path}: decoding stopped {where}: {first_line(e)}") from None
        for o in self.layout.others:
            if self.start and o.kind == "video" and o.index not in self._keyed:
                log.warning("video stream %d (%s) has no keyframe inside --start/--duration's window: none of its "
                            "frames there can be decoded, so none are copied", o.index, o.label)
        self._check_complete(last_time)

    def raw_frames(self) -> Iterator[av.VideoFrame]:
        """Every decoded video frame as PyAV gives it (no window, no other streams): for transcoding."""
        for kind, obj in self._pending_then_live():
            if kind == "frame":
                yield obj

    def _past_window(self) -> bool:
        """Whether the file has been read SLOW_TRACK seconds past the window's end."""
        return self.end is not None and self._reached - self.origin > self.end + SLOW_TRACK

    def _pending_then_live(self) -> Iterator[tuple[str, Any]]:
        while self._pending:
            yield self._pending.popleft()
        yield from self._demux

    def _offset(self, stream: av.stream.Stream) -> int:
        """What to subtract from a stream's timestamps so a window's first frame starts the output: the
        same time for every stream (sync kept), and the video's own (so its times stay on their grid)."""
        if not self.start or not stream.time_base:
            return 0
        if stream.index == self.stream.index:
            return self._first_pts
        return int(round(self._first_pts * self.stream.time_base / stream.time_base))

    def _video_frame(self, frame: av.VideoFrame) -> Frame | None | bool:
        t = self._time(frame)
        if t < self.start - 1e-6:
            return None
        if self.end is not None and t >= self.end - 1e-6:
            self._past_end = t
            return False
        pts = frame.pts
        # a frame must come after the one before (AVI gives decode order only, a flush may give none)
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = (self._last_pts + self._step) if self._last_pts is not None else 0
        self._last_pts = pts
        self.decoded += 1
        return Frame(frame_planes(frame, self.info.work_fmt, self._spec), pts - self._offset(self.stream), t,
                     frame_captions(frame))

    def _other_packet(self, packet: av.Packet, early: bool = False) -> av.Packet | None:
        """A packet of another stream as the output takes it (a window's moved to its start), None to drop it;
        `early`: one of the text cues read before the first frame."""
        if packet.size == 0:
            return None
        if packet.duration is not None and (packet.duration < 0 or packet.duration >= 1 << 31):
            # Ogg's demuxer gives a last Vorbis packet that trims samples a wrapped negative duration
            # (2**32 - 512): copied, the output claimed to last a day; no real packet lasts 2**31 ticks
            packet.duration = 0
        if packet.dts is None and packet.pts is None:
            return packet
        if not self.start and self.end is None:
            return packet
        tb = packet.stream.time_base
        ts = packet.pts if packet.pts is not None else packet.dts
        t = float(ts * tb) - self.origin if tb else 0.0
        text = packet.stream.type == "subtitle" and tb and codec_name(packet.stream) in TEXT_SUBTITLES
        if text and not early and packet.stream.index in self._early_streams and t < self._first_time - 1e-6:
            return None  # read with the early cues (those after the seek point a second time)
        if text and self.start and t < self._first_time + 1e-6:
            # a cue without a duration lasts until the next one: any cue up to the first frame ends the one held,
            # and one without a duration before it is held, since it may still be on there (it was dropped)
            self._open_cues.pop(packet.stream.index, None)
            if not packet.duration and t < self._first_time - 1e-6:
                self._open_cues[packet.stream.index] = (packet, t)
                return None
        if text and packet.duration:
            t = self._cue_in_window(packet, t)
            if t is None:
                return None
        # before the start: dropped, except an encoder's priming packets (t < 0) of a run from the start
        if (t < self.start - 1e-6 and (self.start or t >= 0)) or (self.end is not None and t >= self.end - 1e-6):
            return None
        if self.start and packet.stream.type == "video" and packet.stream.index not in self._keyed:
            if not packet.is_keyframe:
                return None  # a copied video track's GOP that began before the window decodes to nothing
            self._keyed.add(packet.stream.index)
        off = self._offset(packet.stream)
        if off:
            if packet.pts is not None:
                packet.pts -= off
            if packet.dts is not None:
                packet.dts -= off
        return packet

    def _cue_in_window(self, packet: av.Packet, t: float) -> float | None:
        """A text cue on screen at the window's first frame starts there, one still on at its end stops there
        (a line of dialogue begun a second before --start was dropped); returns its start in seconds, None for
        one over before the first frame."""
        tb = packet.stream.time_base
        shown = float(packet.duration * tb)
        if self.start and t < self._first_time - 1e-6:
            if t + shown <= self._first_time + 1e-6:
                return None
            packet.duration = max(1, packet.duration - self._start_at_first_frame(packet, t))
            t, shown = self._first_time, float(packet.duration * tb)
        if self.end is not None and t < self.end and t + shown > self.end:
            packet.duration = max(1, round((self.end - t) / tb))
        return t

    def _cues_on_at_start(self, index: int | None = None) -> list[av.Packet]:
        """The held cues without a duration (of one track, or all) still on at the window's first frame, moved
        to start there; each lasts until its track's next cue, as it did."""
        out = []
        for i in [index] if index is not None else list(self._open_cues):
            packet, t = self._open_cues.pop(i)
            if self._first_time - t >= OPEN_CUE_MAX - 1e-6:
                continue  # over, as a cue without a duration is taken to be after that long
            self._start_at_first_frame(packet, t)
            packet.pts = packet.dts = packet.pts - self._offset(packet.stream)
            out.append(packet)
        return out

    def _start_at_first_frame(self, packet: av.Packet, t: float) -> int:
        """Move a cue that began at `t` seconds to the window's first frame; returns the ticks it moved."""
        late = round((self._first_time - t) / packet.stream.time_base)
        packet.pts = packet.dts = (packet.pts if packet.pts is not None else packet.dts) + late
        return late

    def _check_complete(self, last_time: float | None) -> None:
        if self.decoded == 0:
            if self._past_end is not None:  # the window ended before any frame was shown
                raise TruesightError(f"no video frames in {self.path} between {self.start:g}s and {self.end:g}s "
                                     f"(--start/--duration); the first after --start shows at {self._past_end:.3f}s")
            raise TruesightError(f"no decodable video frames in {self.path}" + (f" after --start {self.start}" if self.start else ""))
        if self.start or self.end is not None:
            return
        expected = self.info.frames - self.discarded
        if self.info.frames and self.packets < expected and self._spanned() < expected:
            raise TruesightError(
                f"truncated input {self.path}: it holds {self.packets} of the {expected} video frames it lists"
                + (f" (last shown at t={last_time:.3f}s)" if last_time is not None else ""))
        dur = self.info.duration
        # a container's duration can include a longer audio track: the file is cut short only where no
        # stream reached near its stated end (and then only a clear shortfall counts)
        reached = max(last_time or 0.0, self._reached - self.origin)
        if not self.info.frames and dur and last_time is not None and dur - reached > max(1.0, 0.1 * dur):
            raise TruesightError(
                f"truncated input {self.path}: decoding stopped at t={last_time:.3f}s of {dur:.3f}s (frame {self.decoded})")

    def _spanned(self) -> int:
        """How many frames an AVI's video packets span: its index lists each frame a capture dropped (a
        0-byte chunk FFmpeg skips, the player holding the frame before; AVI time stamps count frames), so
        fewer packets than listed that reach the last listed frame are whole; a cut file stops short.
        Other containers' frame counts are exact: 0 there."""
        if self._pts_span is None or self.info.format_name != "avi":
            return 0
        lo, hi = self._pts_span
        return (hi - lo) // max(1, self._step) + 1


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe a clip's video stream, or raise TruesightError naming what is wrong."""
    with VideoReader(path) as reader:
        return reader.info
