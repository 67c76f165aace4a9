"""Builds small files of the kinds real cameras and broadcasts produce, with PyAV only, for tests."""
from __future__ import annotations

import io
import re
import struct
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from media_factory import SWS_SPACE, rgb_content
from media_factory import packets as stream_packets

TS = 188
BT709, BT2020, HLG = 1, 9, 18
LIMITED, FULL = 1, 2
GOPRO_TIMECODE = "19:26:48:04"


# ---------------------------------------------------------------- shared helpers

def _picture(i: int, w: int, h: int, pix_fmt: str, space: int = BT709, full: bool = False) -> av.VideoFrame:
    """Frame i of the smooth moving test content, converted to pix_fmt."""
    rgb = (rgb_content(i, w, h) * 255).round().astype(np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=pix_fmt, dst_colorspace=SWS_SPACE.get(space, "ITU601"), dst_color_range="JPEG" if full else "MPEG")


def _pictures(pts: Any, w: int, h: int, tb: Fraction, pix_fmt: str = "yuv420p", space: int = BT709,
              full: bool = False, tags: tuple[int, int, int, int] | None = None) -> Iterator[av.VideoFrame]:
    """The test content's frames with the given pts (one per frame), optionally colour-tagged."""
    for i, t in enumerate(pts):
        f = _picture(i, w, h, pix_fmt, space, full)
        f.pts, f.time_base = int(t), tb
        if tags:
            _tag_colour(f, *tags)
        yield f


def _tag_colour(cc: Any, primaries: int, trc: int, space: int, rng: int) -> None:
    """Set the colour tags of a codec context or frame."""
    cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = primaries, trc, space, rng


def _tone(stream: av.AudioStream, seconds: float, freq: float = 440.0, start: int = 0,
          sweep: float = 0.0) -> Iterator[av.AudioFrame]:
    """Whole encoder-sized frames of a sine tone in the stream's sample format, its pitch rising by `sweep` Hz
    a second (a sweep finds its own time where a steady tone repeats every period)."""
    cc = stream.codec_context
    rate, fmt, layout = cc.sample_rate, cc.format, cc.layout
    step = cc.frame_size or 1024
    n = -(-int(rate * seconds) // step) * step
    t = np.arange(n) / rate
    wave = 0.2 * np.sin(2 * np.pi * (freq * t + sweep * t * t / 2))
    tone = np.repeat(wave[None], layout.nb_channels, 0)
    dtypes = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "flt": np.float32, "dbl": np.float64}
    dtype = dtypes[fmt.name.rstrip("p")]
    scale = {np.uint8: 127, np.int16: 32767, np.int32: 2**31 - 1}.get(dtype, 1.0)
    zero = 128 if dtype is np.uint8 else 0
    for s0 in range(0, n, step):
        chunk = (tone[:, s0 : s0 + step] * scale + zero).astype(dtype)
        data = chunk if fmt.is_planar else chunk.T.reshape(1, -1)
        f = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt.name, layout=layout.name)
        f.sample_rate, f.pts, f.time_base = rate, start + s0, Fraction(1, rate)
        yield f


def _encode(stream: av.stream.Stream, frames: Iterator[av.frame.Frame]) -> list[av.Packet]:
    """All packets of an encoded frame sequence, flushed."""
    out = [p for f in frames for p in stream.encode(f)]
    return out + list(stream.encode(None))


def _shift(packets: list[av.Packet], seconds: Fraction) -> list[av.Packet]:
    """Move packets' pts and dts by a time in seconds."""
    for p in packets:
        d = int(seconds / p.time_base)
        p.pts, p.dts = p.pts + d, p.dts + d
    return packets


def _demux_summary(data: bytes | Path) -> list[tuple[int, str, int, bool, int | None]]:
    """(stream index, type, byte pos, keyframe, pts) of every demuxed packet, in file order."""
    src = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    with av.open(src) as c:
        return [(p.stream.index, p.stream.type, p.pos, p.is_keyframe, p.pts) for p in c.demux() if p.size]


def _ts_pid(data: bytes, off: int) -> int:
    """PID of the TS packet at off."""
    return ((data[off + 1] & 0x1F) << 8) | data[off + 2]


def _ts_payload_start(data: bytes, off: int) -> int:
    """Offset of a TS packet's payload (after the header and any adaptation field)."""
    afc = (data[off + 3] >> 4) & 3
    return off + 4 + (1 + data[off + 4] if afc & 2 else 0)


# ---------------------------------------------------------------- 1. edit-list MP4 (iPhone)

def edit_list_mp4(path: Path, codec: str = "libx264", hidden: int = 9, frames: int = 30, bframes: bool = True,
                  rotation: int = 90, ten_bit: bool = False, hlg: bool = False, *, size: tuple[int, int] = (64, 48),
                  rate: int = 30, audio: bool | None = None) -> Path:
    """An iPhone-like MP4 holding `frames` samples whose edit list hides the first `hidden` of them."""
    w, h = size
    pix_fmt = "yuv420p10le" if ten_bit else "yuv420p"
    hevc = codec in ("libx265", "hevc")
    prim, trc, space = (BT2020, HLG, BT2020) if hlg else (BT709, BT709, BT709)
    audio = (ten_bit or hlg) if audio is None else audio
    if hevc:
        opts = {"preset": "ultrafast", "x265-params": f"log-level=error:bframes={3 if bframes else 0}"}
    else:
        opts = {"preset": "ultrafast", "bf": "2" if bframes else "0"}
    tb = Fraction(1, rate)
    # 600 is the QuickTime timescale iPhones write; the muxer would otherwise pick one of 10000 or more.
    with av.open(str(path), "w", format="mp4", options={"video_track_timescale": "600"}) as c:
        vs = c.add_stream(codec, rate=rate, options=opts)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.codec_context.time_base = tb
        if hevc:
            vs.codec_tag = "hvc1"
        _tag_colour(vs.codec_context, prim, trc, space, LIMITED)
        if rotation:
            vs.set_display_rotation(rotation)
        a = c.add_stream("aac", rate=44100, layout="stereo") if audio else None

        # Negative pts on the first `hidden` samples: the mov muxer keeps them in the sample table and
        # writes an elst whose media_time skips them, which is how iPhone clips look.
        for p in _shift(_encode(vs, _pictures(range(frames), w, h, tb, pix_fmt, space, tags=(prim, trc, space, LIMITED))), -hidden * tb):
            c.mux(p)
        if a is not None:
            for p in _encode(a, _tone(a, (frames - hidden) / rate)):
                c.mux(p)
    return Path(path)


# ---------------------------------------------------------------- 2. H.264 in WebM (Chrome MediaRecorder)

def _ebml_vint(n: int) -> bytes:
    """Shortest EBML size vint for n."""
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError(n)


def _ebml_read_vint(data: bytes, off: int) -> tuple[int, int]:
    """(value, length) of the EBML size vint at off."""
    length = 8 - data[off].bit_length() + 1
    value = int.from_bytes(data[off : off + length], "big") & ((1 << (7 * length)) - 1)
    return value, length


def ebml_header(data: bytes) -> dict[int, bytes]:
    """Children of the leading EBML header element, by id."""
    assert data[:4] == b"\x1a\x45\xdf\xa3", "not EBML"
    size, n = _ebml_read_vint(data, 4)
    off, end, out = 4 + n, 4 + n + size, {}
    while off < end:
        eid = int.from_bytes(data[off : off + 2], "big")
        size, n = _ebml_read_vint(data, off + 2)
        out[eid] = data[off + 2 + n : off + 2 + n + size]
        off += 2 + n + size
    return out


def _with_doctype(data: bytes, doctype: str) -> bytes:
    """Rewrite the EBML header's DocType; Segment offsets are segment-relative, so this is safe."""
    size, n = _ebml_read_vint(data, 4)
    children = ebml_header(data)
    children[0x4282] = doctype.encode()
    body = b"".join(eid.to_bytes(2, "big") + _ebml_vint(len(v)) + v for eid, v in children.items())
    return data[:4] + _ebml_vint(len(body)) + body + data[4 + n + size :]


def _chrome_layout(data: bytes) -> bytes:
    """Re-lay a matroska file as Chrome writes it: unknown-size Segment and Clusters; only Info, Tracks, Clusters."""
    size, n = _ebml_read_vint(data, 4)
    seg = 4 + n + size
    assert data[seg : seg + 4] == b"\x18\x53\x80\x67", "no Segment"
    _, n = _ebml_read_vint(data, seg + 4)
    off, body = seg + 4 + n, []
    while off < len(data):
        idlen = 9 - data[off].bit_length()  # EBML ids carry their length like size vints
        eid = data[off : off + idlen]
        size, n = _ebml_read_vint(data, off + idlen)
        end = off + idlen + n + size
        if eid == b"\x1f\x43\xb6\x75":
            body.append(eid + b"\x01" + b"\xff" * 7 + data[off + idlen + n : end])
        elif eid in (b"\x15\x49\xa9\x66", b"\x16\x54\xae\x6b"):
            body.append(data[off:end])
        off = end  # SeekHead, Void, Tags and Cues go: Chrome writes none, and nothing points at offsets now
    return data[:seg] + b"\x18\x53\x80\x67\x01" + b"\xff" * 7 + b"".join(body)


def h264_in_webm(path: Path, frames: int = 30, *, size: tuple[int, int] = (64, 48), doctype: str = "webm",
                 seed: int = 7) -> Path:
    """Chrome-MediaRecorder-like H.264 in WebM: 1 ms time base, 31-48 ms jittery frames, no audio, no duration."""
    w, h = size
    tb = Fraction(1, 1000)
    durations = np.random.default_rng(seed).integers(31, 49, frames)
    buf = io.BytesIO()
    # The webm muxer refuses H.264, so write matroska; live=1 drops Duration and Cues, and
    # _chrome_layout then leaves Segment and Cluster sizes unknown, as a recorder that never seeks does.
    with av.open(buf, "w", format="matroska", options={"live": "1"}) as c:
        vs = c.add_stream("libx264", rate=30, options={"profile": "baseline", "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.time_base = vs.codec_context.time_base = tb
        vs.metadata["language"] = "eng"
        pts = np.concatenate([[0], np.cumsum(durations)[:-1]])
        for p in _encode(vs, _pictures(pts[:frames], w, h, tb)):
            c.mux(p)
    # Same-length, NUL-padded EBML strings: "Chrome" replaces the Lavf ident as MuxingApp/WritingApp.
    data = re.sub(rb"Lavf\d+\.\d+\.\d+", lambda m: b"Chrome".ljust(len(m.group()), b"\0"), buf.getvalue())
    Path(path).write_bytes(_with_doctype(_chrome_layout(data), doctype))
    return Path(path)


# ---------------------------------------------------------------- 3. MPEG-2 DVB capture cut mid-GOP

def _ts_capture(data: bytes, tail_after_last_key: bool) -> bytes:
    """Cut a TS like a capture started mid-GOP (and optionally stopped right after the last I-frame)."""
    video = [(pos, key) for _, kind, pos, key, _ in _demux_summary(data) if kind == "video"]
    keys = [i for i, (_, key) in enumerate(video) if key]
    if len(keys) < 2:
        raise ValueError("need two GOPs to start mid-GOP")
    start = (video[keys[0]][0] + video[keys[1]][0]) // 2 // TS * TS
    end = len(data)
    if tail_after_last_key and keys[-1] + 1 < len(video) and keys[-1] > keys[1]:
        # Decode order is I, then its leading B-frames: stopping here loses those Bs, a display-time gap.
        end = video[keys[-1] + 1][0] // TS * TS
    return data[start:end]


def mpeg2_ts_mid_gop(path: Path, frames: int = 40, *, size: tuple[int, int] = (352, 288), gop: int = 12,
                     start_s: float = 19208.0, tail_cut: bool = True, video_offset: Fraction = Fraction(0)) -> Path:
    """DVB-like MPEG-2 (interlaced, open GOP, B-frames) + MP2 in MPEG-TS with PTS near start_s, cut mid-GOP;
    the video's clock can lie video_offset seconds off the frame grid that starts at 0 (the real capture's:
    -9.5 ms)."""
    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    buf = io.BytesIO()
    # mpegts_copyts keeps our broadcast-like PTS instead of rebasing them near 1.4 s.
    with av.open(buf, "w", format="mpegts", options={"mpegts_copyts": "1"}) as c:
        vs = c.add_stream("mpeg2video", rate=rate,
                          options={"bf": "2", "g": str(gop), "flags": "+ildct+ilme", "b": "1500k"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = tb
        a = c.add_stream("mp2", rate=48000, layout="stereo")
        first = round(start_s * rate)

        video = _encode(vs, _pictures(range(first, first + frames), w, h, tb, space=5))
        for p in video:  # to the 90 kHz clock the TS holds, where the offset can be told
            p.pts, p.dts, p.time_base = p.pts * 3600, p.dts * 3600, Fraction(1, 90000)
        packets = _shift(video, video_offset) + _encode(a, _tone(a, frames / rate, 1000.0, round(start_s * 48000)))
        for p in packets:
            c.mux(p)
    Path(path).write_bytes(_ts_capture(buf.getvalue(), tail_cut))
    return Path(path)


# ---------------------------------------------------------------- 4. XviD AVI with B-frames

def _with_userdata(p: av.Packet, userdata: bytes) -> av.Packet:
    """The packet with the encoder's MPEG-4 user data (Lavc ident) replaced."""
    data = re.sub(rb"\x00\x00\x01\xb2Lavc[\d.]+", b"\x00\x00\x01\xb2" + userdata, bytes(p))
    q = av.Packet(data)
    q.stream, q.time_base, q.pts, q.dts = p.stream, p.time_base, p.pts, p.dts
    q.duration, q.is_keyframe = p.duration, p.is_keyframe
    return q


def xvid_avi_bframes(path: Path, frames: int = 30, *, size: tuple[int, int] = (64, 48),
                     userdata: bytes = b"XviD0064") -> Path:
    """MPEG-4 Part 2 (FourCC XVID, XviD user data, 2 B-frames) + MP3 (libmp3lame, else mp2) in AVI."""
    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    mp3 = "libmp3lame" if "libmp3lame" in av.codecs_available else "mp2"
    with av.open(str(path), "w", format="avi") as c:
        vs = c.add_stream("mpeg4", rate=rate, options={"bf": "2", "g": "12", "qscale": "4"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = tb
        vs.codec_tag = "XVID"
        a = c.add_stream(mp3, rate=44100, layout="stereo")

        # FFmpeg's decoder reads the XviD build from this user data and switches to Xvid's IDCT and bug
        # workarounds, as it does for real Xvid files.
        video = [_with_userdata(p, userdata) for p in _encode(vs, _pictures(range(frames), w, h, tb, space=5))]
        for p in video + _encode(a, _tone(a, frames / rate)):
            c.mux(p)
    return Path(path)


def _add_video(c: Any, codec: str, size: tuple[int, int], rate: int, options: dict[str, str]) -> Any:
    """A yuv420p video stream at `rate` frames a second, its time base one frame."""
    vs = c.add_stream(codec, rate=rate, options=options)
    vs.width, vs.height, vs.pix_fmt = *size, "yuv420p"
    vs.codec_context.time_base = Fraction(1, rate)
    return vs


def _h264_aac(path: Path, fmt: str, frames: int, size: tuple[int, int], options: dict[str, str], *,
              audio_extra: float = 0.0, audio_shift: Fraction = Fraction(0), start: Fraction = Fraction(0),
              audio_rate: int = 48000, rate: int = 25, sweep: float = 0.0) -> Path:
    """H.264 + AAC at `rate` fps in `fmt`, muxed in time order: the audio (a tone rising by `sweep` Hz a second)
    `audio_extra` seconds longer than the video and moved by `audio_shift`, every stream moved by `start`."""
    return sound_clip(path, fmt, "aac", size=size, options=options, frames=frames, fps=rate, rate=audio_rate,
                      seconds=frames / rate + audio_extra, late=audio_shift, start=start, sweep=sweep)


def sound_clip(path: Path, fmt: str, acodec: str, *, vcodec: str = "libx264", size: tuple[int, int] = (64, 48),
               options: dict[str, str] | None = None, rate: int = 48000, layout: str = "stereo",
               sample_fmt: str | None = None, frames: int = 25, fps: int = 25, seconds: float = 1.0,
               late: Fraction = Fraction(0), start: Fraction = Fraction(0), sweep: float = 2000.0,
               bit_rate: int | None = None) -> Path:
    """Video with one sound stream (a tone rising by `sweep` Hz a second, `seconds` long, starting `late`
    seconds after the picture) in this codec, sample format and container, every stream moved by `start`,
    muxed in time order; libx264 gets no B-frames unless `options` say otherwise."""
    w, h = size
    with av.open(str(path), "w", format=fmt) as c:
        if options is None:
            options = {"preset": "ultrafast", "bf": "0"} if vcodec == "libx264" else {}
        vs = _add_video(c, vcodec, size, fps, options)
        a = c.add_stream(acodec, rate=rate, layout=layout)
        if sample_fmt:
            a.format = sample_fmt
        if bit_rate:
            a.codec_context.bit_rate = bit_rate
        video = _encode(vs, _pictures(range(frames), w, h, Fraction(1, fps)))
        sound = _shift(_encode(a, _tone(a, seconds, 300.0 if sweep else 440.0, sweep=sweep)), late)
        for p in sorted(_shift(video + sound, start), key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    return Path(path)


def mp4_audio_gap_after_first(path: Path, frames: int = 40, gap: Fraction = Fraction(155, 1000), *,
                              size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 + AAC (a rising sweep) in MP4 whose first packet of sound says it lasts `gap` seconds longer than its
    1,024 samples, as an Android phone wrote it: the sound after it starts that much later."""
    w, h = size
    with av.open(str(path), "w", format="mp4") as c:
        vs = _add_video(c, "libx264", size, 25, {"preset": "ultrafast", "bf": "0"})
        a = c.add_stream("aac", rate=48000, layout="stereo")
        video = _encode(vs, _pictures(range(frames), w, h, Fraction(1, 25)))
        audio = _encode(a, _tone(a, frames / 25, 300.0, sweep=2000.0))
        audio = audio[:2] + _shift(audio[2:], gap)  # after the encoder's priming and the first packet of sound
        for p in sorted(video + audio, key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    return Path(path)


def long_gop_mp4(path: Path, frames: int = 140, audio_rate: int = 44100, *, size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 with x264's defaults (250-frame GOP, B-frames) + AAC at a CD rate in MP4, as most cameras and
    editors write it: more frames than FFmpeg's MXF index can count from one keyframe, a rate MXF refuses."""
    return _h264_aac(path, "mp4", frames, size, {"preset": "ultrafast", "x264-params": "bframes=2:log-level=error"},
                     audio_rate=audio_rate)


def mp4_with_early_audio(path: Path, frames: int = 25, early: Fraction = Fraction(1, 2), *,
                         size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 + AAC in MP4 whose audio starts `early` seconds before the video: the muxer's edit list hides
    that audio (players start both at the video), and FFmpeg's demuxer flags its packets as discarded."""
    return _h264_aac(path, "mp4", frames, size, {"preset": "ultrafast", "bf": "0"}, audio_extra=float(early),
                     audio_shift=-early)


def mkv_offset_long_audio(path: Path, frames: int = 20, *, start: float = 0.0, audio_extra: float = 0.0,
                          size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 + AAC in Matroska whose timestamps start at `start` seconds (a cut that kept its timestamps,
    a DVR remux) and whose audio runs `audio_extra` seconds past the video (a screen recording stopped
    after its picture): Matroska states where its last packet ends, the video's end is not the file's."""
    return _h264_aac(path, "matroska", frames, size, {"preset": "ultrafast"}, audio_extra=audio_extra,
                     start=Fraction(start))


def late_track_mkv(path: Path, frames: int = 75, late_at: float = 1.0, *, size: tuple[int, int] = (64, 48)) -> Path:
    """Video + PCM audio in Matroska with one subtitle at `late_at` seconds written after the whole
    second's-worth of audio and video that follows it, as a GoPro writes each second's telemetry after
    that second's video: a reader that stops at the first packet past a window's end never reaches it."""
    w, h = size
    rate = 25
    # a tiny interleave delta makes the muxer write packets in the order given instead of sorting them
    with av.open(str(path), "w", format="matroska", container_options={"max_interleave_delta": "1"}) as c:
        vs = _add_video(c, "ffv1", size, rate, {})
        a = c.add_stream("pcm_s16le", rate=48000, layout="mono")
        srt = Path(path).with_suffix(".srt")

        def stamp(ms: int) -> str:
            return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"

        ms = round(late_at * 1000)
        srt.write_text(f"1\n{stamp(ms)} --> {stamp(ms + 300)}\ninside the window\n\n")
        with av.open(str(srt)) as text:
            sub = c.add_stream_from_template(text.streams[0])
            for p in _encode(vs, _pictures(range(frames), w, h, Fraction(1, rate))) + _encode(a, _tone(a, frames / rate)):
                c.mux(p)
            for p in text.demux(text.streams[0]):
                if p.size:
                    p.stream = sub
                    c.mux(p)
        srt.unlink()
    return Path(path)


ASS_HEADER = ("[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
              "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, "
              "Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
              "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\n\n"
              "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
CUES = ((0, 200, "<i>hello</i>", "{\\i1}hello{\\i0}"), (200, 100, "{\\an8}big\nworld", "big\\Nworld"))


def text_subtitles(path: Path, codec: str, frames: int = 10, cues: tuple = CUES, *,
                   size: tuple[int, int] = (64, 48), header: str = ASS_HEADER, gop: int | None = None) -> Path:
    """H.264 (a keyframe every `gop` frames, else only the first) + a text subtitle track of `codec` (subrip or
    ass in Matroska, mov_text in MP4) holding `cues` ((ms, duration or None, SRT text, ASS text), ...), in
    English, under an ASS script `header`: what film rips (SRT, ASS) and phones and editors (mov_text) carry."""
    w, h = size
    opts = {"preset": "ultrafast", "bf": "0"}
    if gop:
        opts["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
    with av.open(str(path), "w") as c:
        vs = _add_video(c, "libx264", size, 25, opts)
        sub = c.add_stream(codec)
        sub.codec_context.subtitle_header = header.encode()
        sub.metadata["language"] = "eng"
        packets = _encode(vs, _pictures(range(frames), w, h, Fraction(1, 25)))
        for k, (ms, dur, srt, ass) in enumerate(cues):
            if codec == "mov_text":
                data = struct.pack(">H", len(srt.encode())) + srt.encode()
            else:
                data = (f"{k},0,Default,,0,0,0,,{ass}" if codec == "ass" else srt).encode()
            p = av.Packet(data)
            p.stream, p.time_base = sub, Fraction(1, 1000)
            p.pts, p.dts = ms, ms
            if dur is not None:  # else Matroska writes no BlockDuration: the cue lasts until the next
                p.duration = dur
            packets.append(p)
        for p in sorted(packets, key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    return Path(path)


def ts_with_b_frames(path: Path, frames: int = 75, gop: int = 50, *, size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 with B-frames + AAC in MPEG-TS, a keyframe every `gop` frames, as camcorders (.mts) and OBS
    write it: the TS demuxer gives the first video packet a DTS before its PTS, which seeking by bytes misses."""
    return _h264_aac(path, "mpegts", frames, size, {"x264-params": f"keyint={gop}:bframes=2:log-level=error"})


def interlaced(path: Path, codec: str = "libx264", top_first: bool = True, frames: int = 8, *,
               size: tuple[int, int] = (64, 48), tag: int = 0) -> Path:
    """Interlaced video whose pictures show the top (1080i broadcast, AVCHD) or bottom (DV) field first:
    encoders code the order each frame says, so the frames pass FFmpeg's setfield; `tag` is the
    stream's field order as the container states it (0: unknown)."""
    import av.filter

    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    opts = {"x264-params": "interlaced=1:log-level=error"} if codec == "libx264" else {}
    with av.open(str(path), "w") as c:
        vs = _add_video(c, codec, size, rate, opts)
        vs.codec_context.flags |= av.codec.context.Flags.interlaced_dct | av.codec.context.Flags.interlaced_me
        vs.codec_context.field_order = tag
        g = av.filter.Graph()
        chain = [g.add_buffer(width=w, height=h, format="yuv420p", time_base=tb),
                 g.add("setfield", "tff" if top_first else "bff"), g.add("buffersink")]
        for a, b in zip(chain, chain[1:]):
            a.link_to(b)
        g.configure()
        for f in _pictures(range(frames), w, h, tb):
            g.push(f)
            c.mux(vs.encode(g.pull()))
        c.mux(vs.encode(None))
    return Path(path)


def avi_with_dropped_frames(path: Path, frames: int = 25, dropped: tuple[int, ...] = (10,), *,
                            size: tuple[int, int] = (64, 48)) -> Path:
    """A capture-tool AVI: MPEG-4 + PCM, where each dropped frame is a 0-byte video chunk in the index (the
    player holds the frame before); FFmpeg writes the same for a gap in the timestamps, e.g. MP3 priming."""
    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    with av.open(str(path), "w", format="avi") as c:
        vs = _add_video(c, "mpeg4", size, rate, {"qscale": "4"})
        a = c.add_stream("pcm_s16le", rate=48000, layout="stereo")
        kept = [i for i in range(frames) if i not in dropped]
        for p in _encode(vs, _pictures(kept, w, h, tb)) + _encode(a, _tone(a, frames / rate)):
            c.mux(p)
    return Path(path)


def vp8_vorbis_ogg(path: Path, frames: int = 20, *, size: tuple[int, int] = (64, 48)) -> Path:
    """VP8 + Vorbis in Ogg, as browsers' and old tools' exports: FFmpeg's Ogg demuxer gives the last Vorbis
    packet, whose page trims the encoder's padding, a wrapped negative duration (2**32 - 512 or so)."""
    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    with av.open(str(path), "w", format="ogg") as c:
        vs = _add_video(c, "libvpx", size, rate, {"deadline": "realtime", "cpu-used": "8"})
        a = c.add_stream("vorbis", rate=44100, layout="stereo", options={"strict": "experimental"})
        # muxed as encoded: collected first, the last Vorbis packet's page comes out without the trim
        for stream, pictures in ((vs, _pictures(range(frames), w, h, tb)), (a, _tone(a, frames / rate))):
            for f in [*pictures, None]:
                c.mux(stream.encode(f))
    return Path(path)


# ---------------------------------------------------------------- 5. broadcast H.264 TS, 3 audio, DVB subs

def _dvb_segment(kind: int, page: int, body: bytes) -> bytes:
    """One DVB subtitling segment (sync byte, type, page id, length, body)."""
    return struct.pack(">BBHH", 0x0F, kind, page, len(body)) + body


def _dvb_rle8(row: np.ndarray) -> bytes:
    """One line as an 8-bit/pixel code string (EN 300 743 7.2.5.2.3), end-of-string included."""
    out, i = bytearray(), 0
    while i < len(row):
        c, n = int(row[i]), 1
        while i + n < len(row) and row[i + n] == c and n < 127:
            n += 1
        if c == 0:
            out += bytes([0, n])
        elif n >= 3:
            out += bytes([0, 0x80 | n, c])
        else:
            out += bytes([c]) * n
        i += n
    return bytes(out) + b"\x00\x00"


def dvb_subtitle_packet(bitmap: np.ndarray | None, x: int = 0, y: int = 0, version: int = 0, page: int = 1) -> bytes:
    """A DVB subtitle display set (page, region, CLUT, object, end) for an 8-bit index bitmap; None clears."""
    v = (version & 15) << 4
    if bitmap is None:
        return _dvb_segment(0x10, page, bytes([0, v | (2 << 2) | 3])) + _dvb_segment(0x80, page, b"") + b"\xff"
    h, w = bitmap.shape
    pcs = _dvb_segment(0x10, page, bytes([10, v | (2 << 2) | 3]) + struct.pack(">BBHH", 0, 0xFF, x, y))
    rcs = _dvb_segment(0x11, page, bytes([0, v | 0x0F]) + struct.pack(">HH", w, h)
                       + bytes([(3 << 5) | (3 << 2) | 3, 0, 0, 0x03]) + struct.pack(">HHH", 0, 0, 0xF000))
    # CLUT entries 1 (white) and 2 (black), opaque, full-range Y Cr Cb T.
    clut = _dvb_segment(0x12, page, bytes([0, v | 0x0F, 1, 0x3F, 235, 128, 128, 0, 2, 0x3F, 16, 128, 128, 0]))
    top = b"".join(b"\x12" + _dvb_rle8(r) + b"\xf0" for r in bitmap[0::2])
    bottom = b"".join(b"\x12" + _dvb_rle8(r) + b"\xf0" for r in bitmap[1::2])
    ods = _dvb_segment(0x13, page, struct.pack(">HBHH", 0, v, len(top), len(bottom)) + top + bottom)
    return pcs + rcs + clut + ods + _dvb_segment(0x80, page, b"") + b"\xff"


def _caption_bitmap(k: int) -> np.ndarray:
    """A 'caption' box: white text-like bars on black."""
    bm = np.full((24, 120), 2, np.uint8)
    for j in range(6):
        bm[8:16, 6 + j * 19 : 6 + j * 19 + 12 - (j + k) % 4] = 1
    return bm


def _corrupt_tail(data: bytes, pid: int, garble: int, seed: int) -> bytes:
    """Garble the payload of the last `garble` TS packets of a PID, then cut mid-way through the last one."""
    offs = [o for o in range(0, len(data) - TS + 1, TS) if _ts_pid(data, o) == pid]
    out = bytearray(data)
    rng = np.random.default_rng(seed)
    for o in offs[-garble:]:
        p = _ts_payload_start(out, o)
        if out[o + 1] & 0x40:  # keep PES headers so the damage lands in the coded picture
            p += 9 + out[p + 8]
        out[p : o + TS] = rng.integers(0, 256, o + TS - p, dtype=np.uint8).tobytes()
    return bytes(out[: offs[-1] + 101])  # stop 101 bytes into the last packet


def broadcast_ts_h264(path: Path, frames: int = 30, corrupt_tail: bool = True, *, size: tuple[int, int] = (64, 48),
                      audio_tracks: int = 3, subtitle_tracks: int = 2, gop: int = 12, start_s: float = 19208.0,
                      garble: int = 6) -> Path:
    """Interlaced H.264 + 3 E-AC-3 + DVB subtitles in MPEG-TS, starting mid-GOP and ending corrupt."""
    w, h = size
    rate = 25
    tb = Fraction(1, rate)
    acodec = next(n for n in ("eac3", "ac3", "mp2") if n in av.codecs_available)
    languages = ["deu", "eng", "fra", "spa"]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts", options={"mpegts_copyts": "1"}) as c:
        x264 = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2:open-gop=1:interlaced=1:tff=1:log-level=error"
        vs = c.add_stream("libx264", rate=rate, options={"preset": "veryfast", "x264-params": x264})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = tb
        _tag_colour(vs.codec_context, 5, 5, 5, LIMITED)
        auds = []
        for k in range(audio_tracks):
            a = c.add_stream(acodec, rate=48000, layout="stereo")
            a.metadata["language"] = languages[k % 4]
            auds.append(a)
        subs = []
        for k in range(subtitle_tracks):
            s = c.add_stream("dvbsub")
            s.metadata["language"] = languages[k % 4]
            subs.append(s)
        first = round(start_s * rate)

        packets = _encode(vs, _pictures(range(first, first + frames), w, h, tb, space=5))
        for k, a in enumerate(auds):
            packets += _encode(a, _tone(a, frames / rate, 300.0 + 150 * k, round(start_s * 48000)))
        ms90 = Fraction(1, 90000)
        for k, s in enumerate(subs):
            # One caption every 0.4 s, each cleared by an empty page just before the next.
            for n, t in enumerate(np.arange(0.0, frames / rate, 0.4)):
                for dt, bm in ((0.0, _caption_bitmap(k + n)), (0.36, None)):
                    p = av.Packet(dvb_subtitle_packet(bm, 300, 500, version=2 * n + (bm is None)))
                    p.stream, p.time_base = s, ms90
                    p.pts = p.dts = round((start_s + t + dt) * 90000)
                    packets.append(p)
        for p in packets:
            c.mux(p)
    data = _ts_capture(buf.getvalue(), False)
    if corrupt_tail:
        with av.open(io.BytesIO(data)) as c:
            vpid = c.streams.video[0].id
        data = _corrupt_tail(data, vpid, garble, seed=frames)
    Path(path).write_bytes(data)
    return Path(path)


# ---------------------------------------------------------------- 6. GoPro-like MP4

def _gpmf(key: bytes, kind: bytes, struct_size: int, repeat: int, payload: bytes) -> bytes:
    """One GPMF KLV item, payload padded to 32 bits."""
    return key + kind + bytes([struct_size]) + struct.pack(">H", repeat) + payload + b"\0" * (-len(payload) % 4)


def gpmf_packet(second: int, samples: int = 20) -> bytes:
    """A GoPro-style GPMF telemetry payload: DEVC > DVID, DVNM, STRM > STNM, SIUN, SCAL, ACCL."""
    t = second + np.arange(samples) / samples
    accl = np.stack([9.81 + 0.3 * np.sin(7 * t), 0.4 * np.cos(5 * t), 0.2 * np.sin(3 * t)], 1)
    raw = (accl * 418).round().astype(">i2").tobytes()
    strm = b"".join([_gpmf(b"STNM", b"c", 13, 1, b"Accelerometer"), _gpmf(b"SIUN", b"c", 4, 1, b"m/s2"),
                     _gpmf(b"SCAL", b"s", 2, 1, struct.pack(">h", 418)), _gpmf(b"ACCL", b"s", 6, samples, raw)])
    devc = b"".join([_gpmf(b"DVID", b"L", 4, 1, struct.pack(">I", 1)), _gpmf(b"DVNM", b"c", 1, 6, b"Camera"),
                     _gpmf(b"STRM", b"\0", 1, len(strm), strm)])
    return _gpmf(b"DEVC", b"\0", 1, len(devc), devc)


def gopro_like_mp4(path: Path, frames: int = 20, range_tag: str = "limited", *, size: tuple[int, int] = (86, 48),
                   template: Path | None = None, audio: bool = True) -> Path:
    """GoPro-like MP4: full-range yuvj420p H.264 tagged `range_tag`, tmcd timecode, gpmd telemetry, AAC."""
    w, h = size
    rate = Fraction(30000, 1001)
    tb = 1 / rate
    seconds = frames / rate
    tmpl = av.open(str(template)) if template else None
    try:
        # GoPro writes a 90 kHz video timescale.
        with av.open(str(path), "w", format="mp4", options={"video_track_timescale": "90000"}) as c:
            c.metadata["firmware"] = "HD5.02.02.00.00"
            vs = c.add_stream("libx264", rate=rate, options={"preset": "veryfast", "profile": "main", "bf": "0"})
            vs.width, vs.height, vs.pix_fmt = w, h, "yuvj420p"
            vs.codec_context.time_base = tb
            vs.metadata["timecode"] = GOPRO_TIMECODE  # makes the mov muxer add a tmcd track
            vs.metadata["handler_name"] = "\tGoPro AVC"
            vs.metadata["language"] = "eng"
            _tag_colour(vs.codec_context, BT709, BT709, BT709, FULL)
            a = c.add_stream("aac", rate=48000, layout="stereo") if audio else None
            if a is not None:
                a.metadata["handler_name"] = "\tGoPro AAC"
                a.metadata["language"] = "eng"
            # Only gpmd (bin_data) can be copied: tmcd/fdsc have no codec id, which the mp4 muxer refuses.
            src = [s for s in tmpl.streams.data if s.name == "bin_data"] if tmpl else []
            if src:
                ds = c.add_stream_from_template(src[0])
            else:
                ds = c.add_data_stream("bin_data")  # bin_data muxes into MP4 as a gpmd sample entry
                ds.metadata["handler_name"] = "\tGoPro MET"
                ds.time_base = Fraction(1, 1000)

            packets = _encode(vs, _pictures(range(frames), w, h, tb, "yuvj420p", full=True))
            if a is not None:
                packets += _encode(a, _tone(a, float(seconds)))
            if src:
                for p in tmpl.demux(src[0]):
                    if p.size and p.pts is not None and p.pts * p.time_base < seconds:
                        p.stream = ds
                        p.duration = min(p.duration, int((seconds - p.pts * p.time_base) / p.time_base))
                        packets.append(p)
            else:
                ms = Fraction(1, 1000)
                for s in range(int(np.ceil(seconds))):
                    p = av.Packet(gpmf_packet(s))
                    p.stream, p.time_base, p.pts, p.dts = ds, ms, s * 1000, s * 1000
                    p.duration = min(1000, int((seconds - s) * 1000))
                    packets.append(p)
            for p in packets:
                c.mux(p)
    finally:
        if tmpl:
            tmpl.close()
    # libx264 marks yuvj420p full range in the SPS and the muxer copies that to colr; GoPro's colr says
    # limited while the SPS says full, so only the colr bit is rewritten.
    data = bytearray(Path(path).read_bytes())
    at = mp4_tracks(path)[0]["colr_range_at"]
    data[at] = (data[at] & 0x7F) | (0x80 if range_tag == "full" else 0)
    Path(path).write_bytes(data)
    return Path(path)


# ---------------------------------------------------------------- 7. encoder-choice clips

def odd_width_420(path: Path, size: tuple[int, int] = (67, 48), frames: int = 10) -> Path:
    """Odd-width yuv420p FFV1 (H.264/HEVC cannot code odd 4:2:0 widths); container from the suffix."""
    w, h = size
    tb = Fraction(1, 25)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("ffv1", rate=25)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = tb
        for i in range(frames):
            f = _picture(i, w, h, "yuv420p", space=5)
            f.pts, f.time_base = i, tb
            for p in vs.encode(f):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    return Path(path)


def ten_bit_420(path: Path, codec: str = "libx265", size: tuple[int, int] = (64, 48), frames: int = 10) -> Path:
    """A yuv420p10le clip (libx265 Main10 by default, or ffv1)."""
    w, h = size
    tb = Fraction(1, 25)
    opts = {"preset": "ultrafast", "x265-params": "log-level=error"} if codec == "libx265" else {}
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=25, options=opts)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p10le"
        vs.codec_context.time_base = tb
        _tag_colour(vs.codec_context, BT709, BT709, BT709, LIMITED)
        for i in range(frames):
            f = _picture(i, w, h, "yuv420p10le")
            f.pts, f.time_base = i, tb
            for p in vs.encode(f):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    return Path(path)


# ---------------------------------------------------------------- verification

def mp4_tracks(path: Path) -> list[dict[str, Any]]:
    """Per trak of an MP4: handler, sample-entry FourCC, edit list entries and colr (nclx) box."""
    data = Path(path).read_bytes()

    def boxes(start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
        while start + 8 <= end:
            size, kind = struct.unpack(">I4s", data[start : start + 8])
            hdr = 8
            if size == 1:
                size, hdr = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
            size = size or end - start
            yield kind, start + hdr, start + size
            start += size

    def child(start: int, end: int, *names: bytes) -> tuple[int, int] | None:
        for name in names:
            hit = next(((s, e) for k, s, e in boxes(start, end) if k == name), None)
            if hit is None:
                return None
            start, end = hit
        return start, end

    moov = child(0, len(data), b"moov")
    out = []
    for kind, s, e in boxes(*moov):
        if kind != b"trak":
            continue
        info: dict[str, Any] = {}
        hdlr = child(s, e, b"mdia", b"hdlr")
        info["handler"] = data[hdlr[0] + 8 : hdlr[0] + 12].decode() if hdlr else None
        elst = child(s, e, b"edts", b"elst")
        if elst:
            ver, n = data[elst[0]], struct.unpack(">I", data[elst[0] + 4 : elst[0] + 8])[0]
            fmt, step = (">QqI", 20) if ver else (">IiI", 12)
            info["elst"] = [struct.unpack(fmt, data[elst[0] + 8 + i * step : elst[0] + 8 + (i + 1) * step])
                            for i in range(n)]
        stsd = child(s, e, b"mdia", b"minf", b"stbl", b"stsd")
        if stsd:
            entry_end = stsd[0] + 8 + struct.unpack(">I", data[stsd[0] + 8 : stsd[0] + 12])[0]
            info["entry"] = data[stsd[0] + 12 : stsd[0] + 16].decode("latin-1")
            if info["handler"] == "vide":
                colr = child(stsd[0] + 16 + 78, entry_end, b"colr")
                if colr and data[colr[0] : colr[0] + 4] == b"nclx":
                    p, t, m = struct.unpack(">HHH", data[colr[0] + 4 : colr[0] + 10])
                    info["colr"] = {"primaries": p, "trc": t, "matrix": m, "full_range": data[colr[0] + 10] >> 7}
                    info["colr_range_at"] = colr[0] + 10
        out.append(info)
    return out


def describe(path: Path, max_packets: int | None = None) -> dict[str, Any]:
    """What PyAV reports for a file: container, streams, demuxed packets, decoded frames and decode errors."""
    out: dict[str, Any] = {"size": Path(path).stat().st_size}
    with av.open(str(path)) as c:
        out.update(format=c.format.name, duration=c.duration, start_time=c.start_time, metadata=dict(c.metadata))
        streams: dict[int, dict[str, Any]] = {}
        for s in c.streams:
            cc = s.codec_context
            d: dict[str, Any] = {"type": s.type, "codec": cc.name if cc else None, "time_base": s.time_base,
                                 "start_time": s.start_time, "duration": s.duration, "frames": s.frames,
                                 "language": s.metadata.get("language"), "handler": s.metadata.get("handler_name"),
                                 "packets": 0, "discard": 0, "keyframes": 0, "decoded": 0, "errors": 0,
                                 "pkt": [], "dec": []}
            if cc is not None and s.type in ("video", "audio"):
                d["tag"] = cc.codec_tag
                cc.thread_count = 1  # frame threading would shift the pkt_dts attached to frames
            if s.type == "video":
                d.update(pix_fmt=cc.pix_fmt, width=cc.width, height=cc.height, color_range=cc.color_range,
                         colorspace=cc.colorspace, primaries=cc.color_primaries, trc=cc.color_trc,
                         profile=cc.profile, timecode=s.metadata.get("timecode"))
            streams[s.index] = d
        decodable = [s for s in c.streams if s.type in ("video", "audio", "subtitle")]

        def take(s: av.stream.Stream, frames: list) -> None:
            d = streams[s.index]
            for f in frames:
                d["decoded"] += 1
                if s.type == "video":
                    # Own time from pts: PyAV leaves time_base unset (f.time nan) on frames from the flush.
                    d["dec"].append({"pts": f.pts, "dts": f.dts, "pyav_time": f.time,
                                     "time": None if f.pts is None else float(f.pts * s.time_base),
                                     "pict": int(f.pict_type), "interlaced": f.interlaced_frame,
                                     "key": f.key_frame, "pix_fmt": f.format.name, "range": f.color_range,
                                     "rotation": f.rotation, "corrupt": f.is_corrupt})
                elif s.type == "subtitle":
                    d["dec"].append((f.width, f.height, f.x, f.y))
                elif len(d["dec"]) < 3:
                    d["dec"].append((f.pts, f.time))

        for n, p in enumerate(c.demux()):
            if max_packets is not None and n >= max_packets:
                break
            d = streams[p.stream.index]
            if p.size:
                d["packets"] += 1
                d["discard"] += p.is_discard
                d["keyframes"] += p.is_keyframe
                if p.stream.type == "video":
                    d["pkt"].append((p.pts, p.dts, p.is_keyframe, p.is_discard))
            if p.size and p.stream in decodable:
                try:
                    take(p.stream, p.decode())
                except av.FFmpegError:
                    d["errors"] += 1
        for s in decodable:
            if s.type != "subtitle":
                try:
                    take(s, s.decode(None))
                except av.FFmpegError:
                    streams[s.index]["errors"] += 1
    for d in streams.values():
        if d["type"] == "video" and d["dec"]:
            times = [x["time"] for x in d["dec"] if x["time"] is not None]
            steps = np.diff(times) if len(times) > 1 else np.array([0.0])
            d.update(first_time=times[0] if times else None, min_step=round(float(steps.min()), 4),
                     max_step=round(float(steps.max()), 4), interlaced=sum(x["interlaced"] for x in d["dec"]),
                     b_frames=sum(x["pict"] == 3 for x in d["dec"]), corrupt=sum(x["corrupt"] for x in d["dec"]),
                     no_pts=sum(x["pts"] is None for x in d["dec"]))
    out["streams"] = streams
    return out


def _brief(info: dict[str, Any]) -> str:
    """A readable one-file summary of describe()."""
    lines = [(f"  format={info['format']} size={info['size']} duration={info['duration']} "
              f"start_time={info['start_time']} metadata={info['metadata']}")]
    for i, d in info["streams"].items():
        keys = ["type", "codec", "tag", "time_base", "start_time", "frames", "language", "handler", "packets",
                "discard", "keyframes", "decoded", "errors", "pix_fmt", "width", "height", "color_range",
                "colorspace", "primaries", "trc", "profile", "timecode", "first_time", "min_step", "max_step",
                "interlaced", "b_frames", "corrupt", "no_pts"]
        lines.append(f"  #{i} " + " ".join(f"{k}={d[k]}" for k in keys if d.get(k) is not None))
    return "\n".join(lines)


def _lead(v: dict[str, Any]) -> str:
    """How a mid-GOP start shows in a describe() video stream: packets before the first keyframe, dropped Bs."""
    first_key = next(i for i, x in enumerate(v["pkt"]) if x[2])
    first_pts = v["dec"][0]["pts"]
    dropped = sum(1 for x in v["pkt"][first_key:] if x[0] < first_pts)
    return (f"packets before the first keyframe={first_key} leading B-frames after it with pts before the first "
            f"decoded frame={dropped} (first packet t={v['pkt'][0][0] / 90000:.2f}, first frame t={v['first_time']:.2f})")


def _self_check(out: Path) -> None:
    """Build every kind into out/, print what PyAV sees, and assert each real-world property."""
    def show(name: str, path: Path) -> dict[str, Any]:
        info = describe(path)
        print(f"\n== {name}: {path.name}\n{_brief(info)}")
        return info

    # 1. edit lists, iPhone-like
    for kw in ({}, {"codec": "libx265"}, {"codec": "libx265", "ten_bit": True, "hlg": True}):
        p = edit_list_mp4(out / f"edit_list_{'_'.join(map(str, kw.values())) or 'x264'}.mp4", **kw)
        info = show(f"edit_list_mp4 {kw}", p)
        v = info["streams"][0]
        tracks = mp4_tracks(p)
        print("  traks:", tracks)
        print("  first packets (pts, dts, key, discard):", v["pkt"][:4],
              "... decoded pts:", [x["pts"] for x in v["dec"][:3]])
        assert v["frames"] == 30 and v["packets"] == 30 and v["discard"] == 9, v
        assert v["decoded"] == 21 and v["first_time"] == 0.0, v
        assert tracks[0]["elst"][0][1] > 0 and v["dec"][0]["rotation"] == 90, tracks
        if kw.get("hlg"):
            assert v["pix_fmt"] == "yuv420p10le" and (v["primaries"], v["trc"], v["colorspace"]) == (9, 18, 9)
            assert tracks[0]["colr"] == {"primaries": 9, "trc": 18, "matrix": 9, "full_range": 0}
            assert any(d["codec"] == "aac" for d in info["streams"].values())

    # 2. H.264 in WebM
    p = h264_in_webm(out / "chrome_h264.webm")
    info = show("h264_in_webm", p)
    v = info["streams"][0]
    data = p.read_bytes()
    hdr = ebml_header(data)
    steps = np.diff([x["pts"] for x in v["dec"]])
    unknown = b"\x01" + b"\xff" * 7
    clusters = data.count(b"\x1f\x43\xb6\x75" + unknown)
    absent = [n for n, i in (("SeekHead", b"\x11\x4d\x9b\x74"), ("Cues", b"\x1c\x53\xbb\x6b"),
                             ("Tags", b"\x12\x54\xc3\x67")) if i not in data]
    print(f"  DocType={hdr[0x4282]!r} unknown-size Segment={unknown in data[:60]} unknown-size Clusters={clusters} "
          f"absent={absent} frame steps ms: min={steps.min()} max={steps.max()}")
    real = Path(__file__).resolve().parents[2] / "shared/realmedia/chrome_webcam_h264_in_webm_wave.webm"
    if real.exists():
        head = real.read_bytes()[:200]
        print(f"  real Chrome file: DocType={ebml_header(head)[0x4282]!r} "
              f"unknown-size Segment={unknown in head[:60]}")
    assert info["format"] == "matroska,webm" and v["codec"] == "h264" and hdr[0x4282] == b"webm"
    assert info["duration"] is None and len(info["streams"]) == 1 and v["time_base"] == Fraction(1, 1000)
    assert 31 <= steps.min() and steps.max() <= 48 and v["decoded"] == 30
    assert clusters >= 1 and unknown in data[:60] and len(absent) == 3 and v["profile"] == "Constrained Baseline"

    # 3. DVB MPEG-2 cut mid-GOP
    p = mpeg2_ts_mid_gop(out / "dvb_mpeg2.ts")
    info = show("mpeg2_ts_mid_gop", p)
    v = info["streams"][0]
    print(f"  video packets={v['packets']} decoded={v['decoded']} first packet pts={v['pkt'][0][0]} "
          f"first decoded time={v['first_time']} steps={v['min_step']:.3f}..{v['max_step']:.3f}s "
          f"size%188={info['size'] % TS}\n  {_lead(v)}")
    assert v["codec"] == "mpeg2video" and v["decoded"] < v["packets"] and v["interlaced"] == v["decoded"]
    assert v["first_time"] > 19208 and v["first_time"] - v["pkt"][0][0] / 90000 > 0.1 and v["max_step"] >= 0.08
    assert v["b_frames"] > 0 and info["streams"][1]["codec"] == "mp2" and info["size"] % TS == 0

    # 4. XviD AVI
    p = xvid_avi_bframes(out / "xvid.avi")
    info = show("xvid_avi_bframes", p)
    v = info["streams"][0]
    print("  packets (pts, dts, key):", [x[:3] for x in v["pkt"][:6]])
    print("  frames (pts, dts, pyav time, pict_type):",
          [(x["pts"], x["dts"], x["pyav_time"], x["pict"]) for x in v["dec"][:5]],
          "... last:", [(x["pts"], x["dts"], x["pyav_time"]) for x in v["dec"][-2:]])
    assert v["codec"] == "mpeg4" and v["tag"] == "XVID" and v["b_frames"] > 0 and v["decoded"] == 30
    assert b"\x00\x00\x01\xb2XviD0064" in p.read_bytes() and b"Lavc" not in p.read_bytes()

    # 5. broadcast H.264 TS
    p = broadcast_ts_h264(out / "broadcast_h264.ts")
    info = show("broadcast_ts_h264", p)
    v = info["streams"][0]
    kinds = [(d["type"], d["codec"]) for d in info["streams"].values()]
    print(f"  size%188={info['size'] % TS} video packets={v['packets']} decoded={v['decoded']} "
          f"errors={v['errors']} corrupt frames={v['corrupt']} subtitles decoded="
          f"{[d['decoded'] for d in info['streams'].values() if d['type'] == 'subtitle']}\n  {_lead(v)}")
    assert kinds.count(("audio", "eac3")) == 3 and kinds.count(("subtitle", "dvbsub")) == 2, kinds
    print(f"  last packet pts={v['pkt'][-1][0]} last decoded pts={v['dec'][-1]['pts']} corrupt frames at pts="
          f"{[x['pts'] for x in v['dec'] if x['corrupt']]} subtitle bitmaps (w, h, x, y)={info['streams'][4]['dec']}")
    assert info["size"] % TS != 0 and v["interlaced"] == v["decoded"] > 0 and v["decoded"] < 30
    assert v["corrupt"] + v["errors"] > 0 and v["first_time"] > 19208

    # 6. GoPro-like
    real = Path(__file__).resolve().parents[2] / "shared/realmedia/gopro_hero5_karma_drone.mp4"
    for name, kw in (("gopro_like_mp4", {}), ("gopro_like_mp4 template", {"template": real})):
        if "template" in kw and not real.exists():
            print("\n== gopro template: skipped (no ../shared)")
            continue
        p = gopro_like_mp4(out / f"gopro{'_tmpl' if kw else ''}.mp4", **kw)
        info = show(name, p)
        v = info["streams"][0]
        print("  traks:", mp4_tracks(p))
        print(f"  stream pix_fmt={v['pix_fmt']} color_range={v['color_range']}; "
              f"frame pix_fmt={v['dec'][0]['pix_fmt']} color_range={v['dec'][0]['range']}")
        gpmd = stream_packets(p, "data")[0][0][1]
        print(f"  gpmd packet: {len(gpmd)} bytes, starts {gpmd[:16]!r}")
        assert v["pix_fmt"] == "yuvj420p" and v["color_range"] == LIMITED and v["dec"][0]["range"] == FULL
        assert mp4_tracks(p)[0]["colr"]["full_range"] == 0 and gpmd.startswith(b"DEVC") and b"STRM" in gpmd
        assert v["timecode"] == GOPRO_TIMECODE and [t["entry"] for t in mp4_tracks(p)][-2:] == ["gpmd", "tmcd"]
    if real.exists():
        info = describe(real, max_packets=100)
        v = info["streams"][0]
        print(f"\n== real GoPro: traks {mp4_tracks(real)}\n  stream pix_fmt={v['pix_fmt']} "
              f"color_range={v['color_range']}; frame pix_fmt={v['dec'][0]['pix_fmt']} "
              f"color_range={v['dec'][0]['range']}")

    # 7. encoder-choice clips
    p = odd_width_420(out / "odd_width.mkv")
    v = show("odd_width_420", p)["streams"][0]
    assert (v["width"], v["pix_fmt"], v["decoded"]) == (67, "yuv420p", 10)
    p = ten_bit_420(out / "ten_bit.mp4")
    v = show("ten_bit_420", p)["streams"][0]
    assert v["pix_fmt"] == "yuv420p10le" and v["dec"][0]["pix_fmt"] == "yuv420p10le" and v["decoded"] == 10
    print("\nall kinds built and checked")


if __name__ == "__main__":
    import tempfile

    av.logging.set_level(av.logging.FATAL)  # describe() counts the errors; FFmpeg's log would bury them
    if len(sys.argv) > 1:
        Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
        _self_check(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            _self_check(Path(tmp))
