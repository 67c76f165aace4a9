"""Did the output come out whole? Compare a processed clip with its source as a player decodes both.

`check_whole(src, dst)` returns human-readable problems (an empty list means whole): video frame
count, times, size, rotation, bit depth and colour tags; optionally the mean colour shift (for a
strength-0 run); packet-identical audio, subtitle, data and extra video streams; container and
stream metadata. Only numpy and PyAV, so tests can use it anywhere.

Times are compared relative to each file's container start time (an MPEG-TS clip starts at an
arbitrary clock value; a muxer may shift a whole file so that no timestamp is negative). With
`start`, the input window [start, start+duration) is measured from the input's container start, as
`ffmpeg -ss` does, and its earliest kept timestamp is matched to the output's start. Colour ranges
are compared as a player applies them: yuvj* formats are full range, an unspecified range is limited.
Data tracks that the mov demuxer discards by default (GoPro fdsc) are read too.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

IGNORED_META = {"encoder", "major_brand", "minor_version", "compatible_brands"}
STREAM_META = ("handler_name", "language", "title", "timecode")
# muxers that impose their own time base on every stream (MPEG-TS/PS 90 kHz, Matroska/WebM/FLV 1 ms)
FORCED_TIME_BASE = {"mpegts", "mpeg", "vob", "dvd", "matroska", "webm", "flv",
                    "ogg"}  # Ogg: the video's only (it counts frames: its time base is the frame rate)
RANGE = {0: "unspecified", 1: "tv", 2: "pc"}
MAX_SHIFT = 0.3  # mean colour shift allowed per channel, in 8-bit levels
EPS = 1e-6
STATED_SLACK = 1.0  # seconds a container's stated length may exceed its streams' last timestamp (a last duration)
FIRST_FRAME_TOL = 0.0015  # seconds: rounding to a millisecond time base (Matroska), with room


def _meta(meta: dict[str, str], key: str) -> str | None:
    """A stream tag, with 'und' (undetermined) language read as no language, as muxers store it."""
    value = meta.get(key)
    return None if key == "language" and value == "und" else value


@dataclass
class _Stream:
    """One non-main stream: identity, metadata and its packets (time in seconds, bytes)."""

    index: int
    kind: str
    codec: str | None
    tag: str | None
    meta: dict[str, str]
    disposition: int
    time_base: Fraction | None
    packets: list[tuple[float | None, bytes]] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = self.meta.get("handler_name", "").strip("\t\x1f# ") or self.codec or "?"
        return f"{self.kind} stream #{self.index} ({name})"


@dataclass
class _Video:
    """The main video stream as decoded: frame times and first-frame properties."""

    times: list[float]
    size: tuple[int, int] = (0, 0)
    rotation: int = 0
    bits: int = 0
    frame_tags: dict[str, object] = field(default_factory=dict)
    stream_tags: dict[str, object] = field(default_factory=dict)
    time_base: Fraction | None = None
    meta: dict[str, str] = field(default_factory=dict)
    disposition: int = 0
    codec: str | None = None
    tag: str | None = None
    interlaced: bool = False


def _tag(cc: av.CodecContext | None) -> str | None:
    """A codec context's fourcc, None when absent or zero (Matroska, MPEG-TS stream types vary)."""
    try:
        tag = cc.codec_tag if cc is not None else None
    except UnicodeDecodeError:  # AVI's AAC is the WAVE format 0x00FF, not four letters
        return None
    return tag if tag and tag.strip("\x00") else None


def _main_video(c: av.container.InputContainer) -> av.VideoStream | None:
    """The first video stream that is not an attached picture (cover art)."""
    return next((s for s in c.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)


def _origin(c: av.container.InputContainer) -> float:
    """The container's start time in seconds (0 when unknown)."""
    return c.start_time / av.time_base if c.start_time is not None else 0.0


def _range(value: int, pix_fmt: str | None) -> int:
    """The effective colour range: yuvj* formats are full range whatever the tag says; an unspecified
    range is limited (what every decoder assumes, and all VP9 can say)."""
    return 2 if pix_fmt and pix_fmt.startswith("yuvj") else value or 1


def _tags(obj: object, pix_fmt: str | None) -> dict[str, object]:
    """Colour tags of a frame or codec context, with the effective range."""
    return {"color_range": _range(obj.color_range, pix_fmt), "colorspace": obj.colorspace,
            "color_primaries": obj.color_primaries, "color_trc": obj.color_trc, "pix_fmt": pix_fmt}


def _frames(path: Path, lo: float, hi: float) -> Iterator[av.VideoFrame]:
    """Decoded main-video frames whose time lies in [lo, hi), in presentation order."""
    with av.open(str(path)) as c:
        vs = _main_video(c)
        if vs is None:
            return
        vs.thread_type = "AUTO"
        times = _avi_times(path) if c.format.name == "avi" else []
        for k, f in enumerate(c.decode(vs)):
            if k < len(times):
                f.pts = times[k]
            t = float(f.time) if f.time is not None else None
            if t is not None and t < lo - EPS:
                continue
            if t is not None and t >= hi - EPS:
                break
            yield f


def _avi_times(path: Path) -> list[int]:
    """An AVI's frame times as a player shows them: FFmpeg's, in order (it gives each frame its own
    packet's decode slot, so frames of a stream with B-frames carry each other's)."""
    with av.open(str(path)) as c:
        return sorted(f.pts for f in c.decode(_main_video(c)) if f.pts is not None)


def _scan_video(path: Path, lo: float, hi: float) -> _Video | None:
    """Decode the main video once: frame times plus the first frame's size, rotation, depth, tags."""
    with av.open(str(path)) as c:
        vs = _main_video(c)
        if vs is None:
            return None
        cc = vs.codec_context
        video = _Video([], stream_tags=_tags(cc, cc.pix_fmt), time_base=vs.time_base, meta=dict(vs.metadata),
                       disposition=int(vs.disposition), codec=cc.name, tag=_tag(cc))
    for f in _frames(path, lo, hi):
        if not video.times:
            video.size, video.rotation = (f.width, f.height), f.rotation
            video.bits, video.interlaced = f.format.components[0].bits, bool(f.interlaced_frame)
            video.frame_tags = _tags(f, f.format.name)
        video.times.append(float(f.time) if f.time is not None else math.nan)
    return video


def _scan_others(path: Path, lo: float, hi: float) -> list[_Stream]:
    """Every stream but the main video, with its packets whose time lies in [lo, hi)."""
    with av.open(str(path)) as c:
        main = _main_video(c)
        streams: dict[int, _Stream] = {}
        for s in c.streams:
            if main is not None and s.index == main.index:
                continue
            s.discard = av.stream.Discard.default  # mov marks some data tracks (GoPro fdsc) discard-all
            cc = s.codec_context
            kind = "cover art" if s.disposition & av.stream.Disposition.attached_pic else s.type
            streams[s.index] = _Stream(s.index, kind, cc.name if cc else getattr(s, "name", None),
                                       _tag(cc), dict(s.metadata), int(s.disposition),
                                       s.time_base)
        if streams:
            for p in c.demux([c.streams[i] for i in streams]):
                if not p.size:
                    continue
                ts = p.pts if p.pts is not None else p.dts
                t = float(ts * p.time_base) if ts is not None and p.time_base else None
                if t is not None and not lo - EPS <= t < hi - EPS:
                    continue
                streams[p.stream.index].packets.append((t, bytes(p)))
    return list(streams.values())


def _match(ins: list[_Stream], outs: list[_Stream]) -> dict[int, _Stream]:
    """Pair input streams with output streams: same kind, preferring the same handler and codec."""
    free, pairs = list(outs), {}
    for prefer in (lambda a, b: a.meta.get("handler_name") == b.meta.get("handler_name") and a.codec == b.codec,
                   lambda a, b: a.codec == b.codec, lambda a, b: True):
        for s in ins:
            if s.index in pairs:
                continue
            o = next((o for o in free if o.kind == s.kind and prefer(s, o)), None)
            if o is not None:
                pairs[s.index] = o
                free.remove(o)
    return pairs


def _first(times: list[float | None]) -> float | None:
    """The earliest known time of a list (None when none is known)."""
    known = [t for t in times if t is not None and not math.isnan(t)]
    return min(known) if known else None


def _last(times: list[float | None]) -> float | None:
    """The latest known time of a list (None when none is known)."""
    known = [t for t in times if t is not None and not math.isnan(t)]
    return max(known) if known else None


def _compare_video(a: _Video, b: _Video, shift: float, out_format: str) -> list[str]:
    """Frame count, times, size, rotation, depth, colour tags and time base of the main video."""
    problems = []
    if len(a.times) != len(b.times):
        problems.append(f"video: {len(b.times)} frames in output, {len(a.times)} in input")
    steps = np.diff(a.times)
    tol = 0.5 * float(np.median(steps)) if len(steps) else 0.02
    bad = [(i, x, y + shift) for i, (x, y) in enumerate(zip(a.times, b.times)) if not abs(x - y - shift) <= tol]
    if not bad and a.times and b.times and abs(a.times[0] - b.times[0] - shift) > FIRST_FRAME_TOL:
        # within half a frame each, yet the picture as a whole moved against the other streams (A/V sync)
        problems.append(f"video: the first frame moved {(b.times[0] + shift - a.times[0]) * 1000:+.1f} ms against "
                        "the other streams")
    if bad:
        i, x, y = bad[0]
        problems.append(f"video: {len(bad)} frame times differ by more than {tol * 1000:.1f} ms, first at frame {i}: "
                        f"input {x:.4f}s, output {y:.4f}s (output time moved to the input clock)")
    for what, x, y in (("size", a.size, b.size), ("display rotation", a.rotation, b.rotation),
                       ("bit depth", a.bits, b.bits), ("disposition", a.disposition, b.disposition),
                       ("interlaced (first frame)", a.interlaced, b.interlaced)):
        if x != y:
            problems.append(f"video: {what} {y} in output, {x} in input")
    for level, x, y in (("frame", a.frame_tags, b.frame_tags), ("stream", a.stream_tags, b.stream_tags)):
        diff = [f"{k} {x[k]}->{y.get(k)}" for k in x if k != "pix_fmt" and x[k] != y.get(k)]
        if diff:
            problems.append(f"video: {level} colour tags differ ({', '.join(diff)}; "
                            f"pix_fmt {x.get('pix_fmt')}->{y.get('pix_fmt')}; ranges: {RANGE})")
    if a.codec == b.codec and a.tag and b.tag and a.tag != b.tag:
        problems.append(f"video: codec tag {b.tag!r} in output, {a.tag!r} in input")
    if a.time_base != b.time_base and out_format not in FORCED_TIME_BASE:
        problems.append(f"video: time base {b.time_base} in output, {a.time_base} in input ({out_format} does not force one)")
    for key in STREAM_META:
        if _meta(a.meta, key) != _meta(b.meta, key) and key in a.meta:
            problems.append(f"video: stream {key} {b.meta.get(key)!r} in output, {a.meta[key]!r} in input")
    return problems


def _colour_shift(src: Path, dst: Path, lo: float, hi: float) -> np.ndarray | None:
    """Per-channel mean of (output - input) RGB over all pixels of all paired frames, in 8-bit levels."""
    total, count = np.zeros(3), 0
    for fa, fb in zip(_frames(src, lo, hi), _frames(dst, -math.inf, math.inf)):
        if (fa.width, fa.height) != (fb.width, fb.height):
            return None
        rgb = [f.to_ndarray(format="rgb48le").astype(np.float64) / 257.0 if f.format.components[0].bits > 8
               else f.to_ndarray(format="rgb24").astype(np.float64) for f in (fa, fb)]
        total += (rgb[1] - rgb[0]).sum(axis=(0, 1))
        count += fa.width * fa.height
    return np.abs(total / count) if count else None


def _compare_stream(s: _Stream, o: _Stream, shift: float) -> list[str]:
    """Codec, tag, metadata, disposition and packets of one matched non-main stream."""
    if s.codec != o.codec:
        verb = "transcoded" if s.kind == "audio" else "codec changed"
        return [f"{s.label}: {verb} from {s.codec} to {o.codec} (output stream #{o.index})"]
    problems = []
    if s.tag and o.tag and s.tag != o.tag:
        problems.append(f"{s.label}: codec tag {o.tag!r} in output, {s.tag!r} in input")
    for key in STREAM_META:
        if _meta(s.meta, key) != _meta(o.meta, key) and key in s.meta:
            problems.append(f"{s.label}: {key} {o.meta.get(key)!r} in output, {s.meta[key]!r} in input")
    if s.disposition != o.disposition:
        problems.append(f"{s.label}: disposition {o.disposition} in output, {s.disposition} in input")
    return problems + _compare_packets(s, o, shift)


def _compare_packets(s: _Stream, o: _Stream, shift: float) -> list[str]:
    """Packets matched by their bytes (so one lost packet is one problem), then their times."""
    sm = difflib.SequenceMatcher(None, [b for _, b in s.packets], [b for _, b in o.packets], autojunk=False)
    ops = sm.get_opcodes()
    lost = [i for op, i1, i2, _, _ in ops if op in ("delete", "replace") for i in range(i1, i2)]
    extra = [j for op, _, _, j1, j2 in ops if op in ("insert", "replace") for j in range(j1, j2)]
    same = [(i, j) for op, i1, i2, j1, _ in ops if op == "equal" for i, j in zip(range(i1, i2), range(j1, j1 + i2 - i1))]
    problems = []
    if lost:
        problems.append(f"{s.label}: {len(lost)} of {len(s.packets)} input packets missing or altered in output, "
                        f"first #{lost[0]} at t={s.packets[lost[0]][0]}")
    if extra:
        problems.append(f"{s.label}: {len(extra)} output packets not in input, first #{extra[0]} at t={o.packets[extra[0]][0]}")
    tol = max(float(s.time_base or 0), float(o.time_base or 0)) + 1e-4
    late = [(i, j) for i, j in same if (s.packets[i][0] is None) != (o.packets[j][0] is None)
            or s.packets[i][0] is not None and abs(s.packets[i][0] - o.packets[j][0] - shift) > tol]
    if late:
        i, j = late[0]
        problems.append(f"{s.label}: {len(late)} packets keep their bytes but not their time, first: input "
                        f"{s.packets[i][0]}s, output {o.packets[j][0]}s (relative shift {shift:+.4f}s)")
    return problems


def check_whole(src: Path, dst: Path, *, strength_zero: bool = False, start: float = 0.0,
                duration: float | None = None) -> list[str]:
    """Problems that make dst less than a whole rendering of src (empty list: whole)."""
    src, dst = Path(src), Path(dst)
    try:
        with av.open(str(src)) as ci, av.open(str(dst)) as co:
            origin, out_origin, out_format = _origin(ci), _origin(co), co.format.name.split(",")[0]
            stated = co.duration / av.time_base if co.duration is not None else None
            meta_in, meta_out = dict(ci.metadata), {k.lower(): v for k, v in co.metadata.items()}
    except (av.FFmpegError, OSError) as e:
        return [f"cannot open output or input: {e}"]
    if out_format == "matroska" and dst.suffix.lower() == ".webm":
        out_format = "webm"
    lo = origin + start if start else -math.inf  # pre-roll packets (negative AAC priming pts) count at 0
    hi = math.inf if duration is None else origin + start + duration
    a, b = _scan_video(src, lo, hi), _scan_video(dst, -math.inf, math.inf)
    if a is None or b is None:
        return ["input has no video stream" if a is None else "output has no video stream"]
    ins, outs = _scan_others(src, lo, hi), _scan_others(dst, -math.inf, math.inf)
    pairs = _match(ins, outs)

    # relative times: whole files from their container start; a window from the earliest time of the
    # streams both files hold, in each file (the output's first packet can lie a little after `start`,
    # and its container start is a decode time, earlier than any shown time when B-frames lead)
    if start:
        shared = [s for s in ins if s.index in pairs]
        t_in = _first([_first(a.times)] + [_first([t for t, _ in s.packets]) for s in shared])
        t_out = _first([_first(b.times)] + [_first([t for t, _ in pairs[s.index].packets]) for s in shared])
        shift = (t_in if t_in is not None else lo) - (t_out if t_out is not None else out_origin)
    else:
        shift = origin - out_origin

    problems = _compare_video(a, b, shift, out_format)
    ends = [t for t in [_last(b.times)] + [_last([t for t, _ in o.packets]) for o in outs] if t is not None]
    if stated is not None and ends and stated > max(ends) - out_origin + STATED_SLACK:
        # Matroska states an end time, not a length: a file beginning hours into a clock claims hours
        problems.append(f"container: says it lasts {stated:.2f}s, its streams end {max(ends) - out_origin:.2f}s "
                        "after it begins")
    if strength_zero:
        m = _colour_shift(src, dst, lo, hi)
        if m is None:
            problems.append("colour: frames could not be paired (size differs or none decoded)")
        elif m.max() > MAX_SHIFT:
            problems.append(f"colour: mean shift per channel R {m[0]:.2f} G {m[1]:.2f} B {m[2]:.2f} levels "
                            f"(max {m.max():.2f} > {MAX_SHIFT})")
    for s in ins:
        if s.index not in pairs:
            problems.append(f"{s.label}: dropped ({len(s.packets)} packets, codec {s.codec or s.tag or 'none'})")
        else:
            problems += _compare_stream(s, pairs[s.index], shift)
    matched = {id(o) for o in pairs.values()}
    problems += [f"output has an extra {o.label} ({len(o.packets)} packets)" for o in outs if id(o) not in matched]
    for k, v in meta_in.items():
        if k.lower() not in IGNORED_META and meta_out.get(k.lower()) != v:
            problems.append(f"container metadata {k!r}: {meta_out.get(k.lower())!r} in output, {v!r} in input")
    return problems


def _sound(path: Path, placed: bool, seconds: float) -> tuple[np.ndarray, int]:
    """The first audio stream's first channel as a float array: each frame at its timestamp (`placed`) or
    one after another from zero, as a container that keeps no time for sound plays it."""
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        rate = a.codec_context.sample_rate
        out, at = np.zeros(int(rate * seconds)), 0
        for f in c.decode(a):
            x = f.to_ndarray().astype(np.float64)
            x = x[0] if f.format.is_planar else x.reshape(-1, f.layout.nb_channels)[:, 0]
            if placed and f.pts is not None:
                at = round(float(f.pts * f.time_base) * rate)
            skip = max(0, -at)  # samples before zero
            n = max(0, min(len(x) - skip, len(out) - at - skip))
            out[at + skip : at + skip + n] = x[skip : skip + n]
            at += len(x)
    return out, rate


def audio_lag(src: Path, dst: Path, *, dst_placed: bool = True, seconds: float = 4.0) -> float:
    """Seconds by which dst's sound plays after src's (negative: before), by cross-correlation of their first
    channels over the first `seconds`; dst_placed=False plays dst's frames one after another (AVI, MXF)."""
    a, rate = _sound(Path(src), True, seconds)
    b, dst_rate = _sound(Path(dst), dst_placed, seconds)
    assert dst_rate == rate, f"{dst} resampled the sound ({rate} -> {dst_rate} Hz): no lag to compare"
    n = 2 * len(a)
    cc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lag = int(np.argmax(cc))
    return (lag - n if lag > n // 2 else lag) / rate


def colour_shift(src: Path, dst: Path, *, start: float = 0.0, duration: float | None = None) -> float | None:
    """The largest per-channel mean colour shift between src (window) and dst, in 8-bit levels."""
    with av.open(str(src)) as c:
        origin = _origin(c)
    lo = origin + start if start else -math.inf
    m = _colour_shift(Path(src), Path(dst), lo, math.inf if duration is None else origin + start + duration)
    return None if m is None else float(m.max())
