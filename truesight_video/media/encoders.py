"""Choosing how the video is encoded into a given container: encoder, pixel format, time base and
options. Each choice is tried in memory first (open the encoder, encode a frame, mux it), so what a
container or encoder refuses is found before the real output is touched."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field, replace
from fractions import Fraction

import av
import numpy as np

from ..colour import RANGE_FULL, RGB_WORK_MATRIX
from ..errors import ParameterError, TruesightError, first_line
from ..options import NAMED_PRESETS, EncodeSettings
from .layout import FIELD_TT, PQ, HdrMetadata, VideoInfo
from .reader import YUVJ

log = logging.getLogger("truesight_video")

ENCODER_FOR = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libsvtav1",
    "mpeg4": "mpeg4", "ffv1": "ffv1", "prores": "prores_ks", "mjpeg": "mjpeg", "png": "png",
    "mpeg2video": "mpeg2video", "mpeg1video": "mpeg1video", "dnxhd": "dnxhd", "rawvideo": "rawvideo",
}
# tried in order when the input's own codec cannot be written into the output container
FALLBACK_ENCODERS = ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "mpeg4")
QUANTIZER_ENCODERS = {"mpeg1video", "mpeg2video", "mpeg4", "msmpeg4", "msmpeg4v2", "h263", "h263p", "mjpeg", "wmv2"}
B_FRAME_ENCODERS = {"mpeg1video", "mpeg2video", "mpeg4"}
BT2020 = 9  # AVColorPrimaries
# codecs whose pictures can say they are interlaced
FIELD_CODECS = {"h264", "mpeg2video", "mpeg4", "prores", "dnxhd", "dvvideo", "ffv1"}
QP2LAMBDA = 118
MXF = {"mxf", "mxf_d10", "mxf_opatom"}
FRAME_COUNTING = {"avi", "ogg", "ogv"}  # containers whose video time base is its frame rate
STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(50),
                  Fraction(60000, 1001), Fraction(60))
MXF_RATES = STANDARD_RATES + (Fraction(48000, 1001), Fraction(48), Fraction(100), Fraction(120000, 1001), Fraction(120))
MXF_MAX_GOP = 120  # FFmpeg's MXF index stores a frame's distance from its keyframe in one signed byte


@dataclass(frozen=True)
class VideoEncoding:
    """How the video stream is encoded."""

    codec: str
    pix_fmt: str
    time_base: Fraction
    options: dict[str, str] = field(default_factory=dict)
    codec_tag: str | None = None
    quantizer: int | None = None  # fixed quantizer of MPEG-1/2/4-style encoders (their default rate is ~1 Mb/s)
    interlaced: bool = False
    threads: int = 0
    notes: tuple[str, ...] = ()  # what this encoder changed (a pixel format), said once it is the one chosen
    rate: Fraction | None = None  # the stream's frame rate where the container needs another (MXF: a standard one)

    def stream_rate(self, info: VideoInfo) -> Fraction | None:
        """The frame rate the output stream states."""
        return self.rate or info.rate


def encoder_exists(name: str) -> bool:
    """Whether this FFmpeg build has an encoder of that name."""
    try:
        av.codec.Codec(name, "w")
        return True
    except (av.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
        return False


def _codec_family(encoder: str) -> str:
    return av.codec.Codec(encoder, "w").canonical_name


def codes_fields(encoder: str) -> bool:
    """Whether this encoder's codec can mark interlaced pictures (VP9, AV1, HEVC as FFmpeg writes it, MPEG-1
    and Theora code every picture as progressive)."""
    return _codec_family(encoder) in FIELD_CODECS


def _log2_chroma(fmt: av.VideoFormat) -> tuple[int, int]:
    return (64 // fmt.chroma_width(64)).bit_length() - 1, (64 // fmt.chroma_height(64)).bit_length() - 1


def pick_pix_fmt(codec: str, info: VideoInfo, settings: EncodeSettings, width: int,
                 height: int) -> tuple[str, tuple[str, ...]]:
    """The input's pixel format where the encoder takes it, else the nearest one that loses no bit depth
    or chroma resolution if it can (yuvj formats become yuv with a full-range tag); and what changed, to
    be said if this encoder is chosen (one that is tried and refused must not say it)."""
    supported = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    if settings.pix_fmt:
        if supported and settings.pix_fmt not in supported:
            raise ParameterError("pix_fmt", f"{settings.pix_fmt!r} is not supported by {codec} "
                                            f"(try: {', '.join(supported[:8])})")
        return settings.pix_fmt, ()
    notes: list[str] = []
    want = YUVJ.get(info.pix_fmt, info.pix_fmt)
    if not supported or want in supported:
        fmt = want
    else:
        cw, ch = _log2_chroma(av.VideoFormat(info.work_fmt))

        def cost(name: str) -> tuple:
            f = av.VideoFormat(name)
            bits = max(c.bits for c in f.components)
            fw, fh = _log2_chroma(f)
            planar_yuv = name.startswith("yuv") and "a" not in name[3:6] and f.is_planar
            return (not planar_yuv, bits < info.bits, fw > cw or fh > ch, bits - info.bits, (cw - fw) + (ch - fh))

        fmt = min((f for f in supported if f not in YUVJ), key=cost, default=supported[0])
        notes.append(f"{codec} cannot encode {info.pix_fmt}; writing {fmt}")
    vf = av.VideoFormat(fmt)
    subsampled = vf.chroma_width(width) != width or vf.chroma_height(height) != height
    if (width % 2 or height % 2) and subsampled and codec in ("libx264", "libx265"):
        alt = "yuv444p10le" if vf.components[0].bits > 8 else "yuv444p"
        if alt in supported:
            notes.append(f"{codec} needs even sizes for {fmt}; {width}x{height} is written as {alt}")
            fmt = alt
    return fmt, tuple(notes)


def _check_preset(codec: str, preset: str | None) -> None:
    """A preset this encoder takes, else a ParameterError (x264 given a VP9 speed, or an encoder without
    presets): never silently ignored, never a reason to fall back to another codec."""
    if preset is None:
        return
    speeds = {"libvpx-vp9": (0, 8), "libvpx": (0, 16), "libsvtav1": (0, 13), "libaom-av1": (0, 8)}
    if codec in ("libx264", "libx265"):
        if preset not in NAMED_PRESETS:
            raise ParameterError("preset", f"{codec} takes one of {', '.join(NAMED_PRESETS)}, got {preset!r}")
    elif codec in speeds:
        lo, hi = speeds[codec]
        if not (preset.lstrip("-").isdigit() and lo <= int(preset) <= hi):
            raise ParameterError("preset", f"{codec} takes a speed number {lo}..{hi} (lower: slower, better), "
                                           f"got {preset!r}")
    else:
        raise ParameterError("preset", f"{codec} has no presets (choose an encoder that has, e.g. --codec libx264)")


HDR_METADATA_ENCODERS = {"libx265", "libsvtav1"}  # those told the mastering display by an option


def _hdr_params(hdr: HdrMetadata | None, encoder: str) -> list[str]:
    """HDR10 static metadata as x265's or SVT-AV1's parameters (they write it into the bitstream; both
    take a mastering display only with its primaries and its luminance)."""
    if hdr is None:
        return []
    out = []
    if hdr.primaries is not None and hdr.luminance is not None:
        (rx, ry, gx, gy, bx, by), (wx, wy), (hi, lo) = hdr.primaries, hdr.white, hdr.luminance
        if encoder == "x265":  # chromaticity in 0.00002 units (16 bits), luminance in 0.0001 cd/m2, G B R order
            def xy(x: Fraction, y: Fraction) -> str:
                return ",".join(str(min(50000, max(0, round(v * 50000)))) for v in (x, y))
            lum = f"{round(hi * 10000)},{round(lo * 10000)}"
            out.append(f"master-display=G({xy(gx, gy)})B({xy(bx, by)})R({xy(rx, ry)})WP({xy(wx, wy)})L({lum})")
        else:
            def xy(x: Fraction, y: Fraction) -> str:
                return f"{float(x):.5f},{float(y):.5f}"
            out.append(f"mastering-display=G({xy(gx, gy)})B({xy(bx, by)})R({xy(rx, ry)})WP({xy(wx, wy)})"
                       f"L({float(hi):.4f},{float(lo):.6f})")
    if hdr.max_cll or hdr.max_fall:  # 16-bit fields in both bitstreams (x265 wrapped 70000 to 4464)
        cll, fall = min(hdr.max_cll, 65535), min(hdr.max_fall, 65535)
        out.append(f"{'max-cll' if encoder == 'x265' else 'content-light'}={cll},{fall}")
    return out


def hdr_lost(hdr: HdrMetadata | None, codec: str) -> list[str]:
    """What of a clip's HDR10 static metadata an encoder does not write (["its mastering display"], ...)."""
    if hdr is None:
        return []
    mastering = hdr.primaries is not None or hdr.luminance is not None
    whole = hdr.primaries is not None and hdr.luminance is not None
    lost = []
    if mastering and (codec not in HDR_METADATA_ENCODERS or not whole):
        lost.append("its mastering display" if whole else
                    f"its mastering display (its {'luminance' if hdr.primaries is not None else 'primaries'} unstated)")
    if (hdr.max_cll or hdr.max_fall) and codec not in HDR_METADATA_ENCODERS:
        lost.append("its light levels")
    return lost


def _options(codec: str, info: VideoInfo, settings: EncodeSettings) -> tuple[dict[str, str], int | None]:
    """Encoder options and, for quantizer-driven encoders, the quantizer (crf maps to it, 1..31)."""
    _check_preset(codec, settings.preset)
    crf = settings.crf
    if codec in ("libx264", "libx265"):
        opts = {"crf": str(18 if crf is None else crf), "preset": settings.preset or "medium"}
        if codec == "libx265":
            opts["x265-params"] = ":".join(["log-level=error", *_hdr_params(info.hdr_metadata, "x265")])
        return opts, None
    if codec in ("libvpx-vp9", "libvpx"):
        return {"crf": str(20 if crf is None else crf), "b": "0", "row-mt": "1",
                "cpu-used": settings.preset or "4",
                "deadline": "good"}, None
    if codec == "libsvtav1":
        opts = {"crf": str(24 if crf is None else crf), "preset": settings.preset or "8"}
        if info.hdr_metadata is not None:
            opts["svtav1-params"] = ":".join(_hdr_params(info.hdr_metadata, "svtav1"))
        return opts, None
    if codec == "libaom-av1":
        return {"crf": str(24 if crf is None else crf), "cpu-used": settings.preset or "6"}, None
    if codec == "dnxhd":  # DNxHR profiles take any frame size; classic DNxHD only a fixed list
        return {"profile": "dnxhr_hqx" if info.bits > 8 else "dnxhr_hq"}, None
    if codec in QUANTIZER_ENCODERS:
        # B-frames where the input had them: an AVI (no timestamps of its own) then shows its first
        # frame one frame late, as the input did
        opts = {"bf": "2"} if info.b_frames and codec in B_FRAME_ENCODERS else {}
        return opts, 2 if crf is None else min(31, max(1, crf))
    return {}, None


def output_tags(info: VideoInfo, pix_fmt: str) -> tuple[int, int]:
    """(color_range, colorspace) for the output: the input's, except that YUV made from an RGB input is
    tagged with the matrix and range we made it with (its RGB tag would make players read it as GBR)."""
    if info.rgb and not av.VideoFormat(pix_fmt).is_rgb:
        return RANGE_FULL, RGB_WORK_MATRIX
    return info.color_range, info.colorspace


def configure(vs: av.VideoStream, enc: VideoEncoding, info: VideoInfo, width: int, height: int) -> None:
    """Set up an output video stream for an encoding (used for the trial and for the real file)."""
    vs.width, vs.height, vs.pix_fmt = width, height, enc.pix_fmt
    vs.time_base = enc.time_base  # the input's, unless the encoder or container takes only another
    cc = vs.codec_context
    cc.time_base = enc.time_base
    cc.color_range, cc.colorspace = output_tags(info, enc.pix_fmt)
    cc.color_primaries = info.color_primaries
    cc.color_trc = info.color_trc
    if info.sample_aspect_ratio:
        cc.sample_aspect_ratio = info.sample_aspect_ratio
    if enc.codec_tag:
        cc.codec_tag = enc.codec_tag
    if enc.quantizer:
        cc.qscale = True
        cc.global_quality = enc.quantizer * QP2LAMBDA
    if enc.interlaced:
        cc.flags |= av.codec.context.Flags.interlaced_dct | av.codec.context.Flags.interlaced_me
        cc.field_order = info.field_order or FIELD_TT
    if enc.threads:
        cc.thread_count = enc.threads
    cc.thread_type = "AUTO"
    vs.options = dict(enc.options)


def reads_back(buf: io.BytesIO, out: av.container.OutputContainer, packets: list[av.Packet], kind: str,
               codec: str, sar: Fraction | None = None) -> bool:
    """Whether what an in-memory trial container holds is read back as a stream of this kind and codec
    (and pixel aspect, to 5 %). MPEG program and transport streams take any codec but mark only some (VP9
    in them is read back as MP3 or as data: a file without video); MPEG-2 stores a few picture aspects
    only (a side-by-side of 16:9 PAL, 32:9, came back square). True where the packets cannot be muxed at
    all: from a one-frame encode x265 can return made-up timestamps that the mp4 muxer refuses, which
    says nothing about a real run."""
    try:
        for p in packets:
            out.mux(p)
        out.close()
    except (av.FFmpegError, ValueError):
        return True
    buf.seek(0)
    family = av.codec.Codec(codec, "w").canonical_name
    try:
        with av.open(buf, "r") as back:
            return any(s.type == kind and s.codec_context is not None and s.codec_context.codec is not None
                       and s.codec_context.codec.canonical_name == family
                       and (sar is None or abs(_sar(s.codec_context) / sar - 1) < 0.05) for s in back.streams)
    except (av.FFmpegError, ValueError):
        return False


def _sar(cc: av.VideoCodecContext) -> Fraction:
    sar = cc.sample_aspect_ratio
    return Fraction(sar) if sar and sar.numerator else Fraction(1)


def lost_in_container(format_name: str, enc: VideoEncoding, info: VideoInfo, width: int, height: int,
                      tags: dict[str, str], options: dict[str, str]) -> tuple[list[str], list[str]]:
    """What this encoding and container do not read back (a trial of one frame, muxed with the output's
    options): of the colour description, what changes how players show the picture (full range, an HDR
    transfer, BT.2020 primaries: a GoPro's full range into VP8 in Ogg came back limited, an HLG clip into
    MPEG-4 Part 2 in AVI untagged); and which container tags (a phone's location into .ts or .avi)."""
    rng, _ = output_tags(info, enc.pix_fmt)
    wanted = [("full range", "color_range", RANGE_FULL, rng == RANGE_FULL),
              ("the PQ transfer" if info.color_trc == PQ else "the HLG transfer", "color_trc", info.color_trc, info.hdr),
              ("BT.2020 primaries", "color_primaries", BT2020, info.color_primaries == BT2020)]
    wanted = [w for w in wanted if w[3]]
    if not wanted and not tags:
        return [], []
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=format_name, options=dict(options)) as out:
            out.metadata.update(tags)
            for p in _one_frame(out, enc, info, width, height):
                out.mux(p)
        buf.seek(0)
        with av.open(buf, "r", metadata_errors="ignore") as back:
            kept = {k.lower() for k in back.metadata}
            got = next(back.decode(video=0))
    except (av.FFmpegError, ValueError, TypeError, NotImplementedError, StopIteration):
        return [], []  # the plan's own trial passed: nothing is said on a guess
    return ([name for name, attr, value, _ in wanted if getattr(got, attr) != value],
            [k for k in tags if k.lower() not in kept])


def _one_frame(out: av.container.OutputContainer, enc: VideoEncoding, info: VideoInfo, width: int,
               height: int) -> list[av.Packet]:
    """A trial container's video stream for this encoding, started, and the packets of one black frame
    tagged as the writer tags its frames (the plan's trial and the read-back of what is lost share it)."""
    lead = TrialVideo(enc, info, width, height)
    vs = lead.add(out)
    out.start_encoding()
    return lead.packets(vs)


@dataclass(frozen=True)
class TrialVideo:
    """The output's video, for trials of other streams in containers that take them only beside a video
    stream (MXF refuses an audio-only header)."""

    enc: VideoEncoding
    info: VideoInfo
    width: int
    height: int

    @property
    def family(self) -> str:
        """The codec its stream reads back as (h264 for libx264)."""
        return _codec_family(self.enc.codec)

    def add(self, out: av.container.OutputContainer) -> av.VideoStream:
        """Add the video stream to a trial container (before it is started)."""
        vs = out.add_stream(self.enc.codec, rate=self.enc.stream_rate(self.info) or 25)
        configure(vs, self.enc, self.info, self.width, self.height)
        return vs

    def packets(self, vs: av.VideoStream) -> list[av.Packet]:
        """The packets of one black frame, tagged as the writer tags its frames, once the container is started."""
        frame = av.VideoFrame(self.width, self.height, self.enc.pix_fmt)
        for plane in frame.planes:  # new frames hold whatever memory was there: 10-bit garbage fails x265
            np.frombuffer(plane, np.uint8)[:] = 0
        frame.pts, frame.time_base = 0, self.enc.time_base
        frame.color_range, frame.colorspace = output_tags(self.info, self.enc.pix_fmt)
        frame.color_trc, frame.color_primaries = self.info.color_trc, self.info.color_primaries
        return vs.encode(frame) + vs.encode(None)


def _trial(format_name: str, enc: VideoEncoding, info: VideoInfo, width: int, height: int) -> str | None:
    """None if the container takes this encoding (stream added, encoder opened, a frame encoded, and read
    back as such), else why not."""
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=format_name) as out:
            packets = _one_frame(out, enc, info, width, height)
            if not reads_back(buf, out, packets, "video", enc.codec, info.sample_aspect_ratio):
                return (f"{_codec_family(enc.codec)} video at {width}x{height}"
                        + (f", pixel aspect {info.sample_aspect_ratio}," if info.sample_aspect_ratio else "")
                        + f" does not read back as such from {format_name}")
        return None
    except (av.FFmpegError, ValueError, TypeError, NotImplementedError, OverflowError) as e:
        return first_line(e)


def _time_bases(info: VideoInfo, format_name: str) -> list[Fraction]:
    """The input's own time base first (timestamps kept exactly), then milliseconds (MPEG-4 Part 2 takes
    denominators up to 65535), then one frame (MPEG-1/2 take only standard frame rates). AVI counts
    frames: its time base is its frame rate, so one frame comes first there (a phone MP4's 1/15360 made
    a 15,360 fps AVI of empty chunks), then the same frame in a denominator MPEG-4 Part 2 takes (a phone's
    29.99 fps, 3001/90000, is too fine for it, and milliseconds made a 1000 fps AVI); a standard rate only
    where it is within 1 % and not below the input's, so no two frames share a tick (120 fps at 60 would
    play at half speed). Ogg's VP8 and Theora count frames too: its header states 1 / time base as the
    frame rate, and FFmpeg's demuxer takes a frame for one tick (an MP4's 1/12800 lost the first frame)."""
    out = [Fraction(info.time_base), Fraction(1, 1000)]
    if not info.rate:
        return list(dict.fromkeys(out))
    rate = Fraction(info.rate)
    frame = 1 / min(STANDARD_RATES, key=lambda r: abs(r - rate))
    if format_name in MXF:  # which counts frames, not time, at a standard rate (the writer keeps the clock)
        return [1 / min(MXF_RATES, key=lambda r: abs(r - rate))]
    if format_name in FRAME_COUNTING:
        near = [frame] if rate <= 1 / frame <= rate * Fraction(101, 100) else []
        return list(dict.fromkeys([1 / rate, (1 / rate).limit_denominator(65535), *near] + out))
    return list(dict.fromkeys(out + [frame]))


def _tags(codec: str, info: VideoInfo, format_name: str) -> list[str | None]:
    """Codec tags worth keeping: the input's for the same codec (an AVI's XVID), Apple's hvc1 for HEVC
    in MP4/MOV (what phones write; hev1 does not play on Apple devices), else the muxer's default."""
    tags: list[str | None] = []
    if _codec_family(codec) == "hevc" and format_name in ("mp4", "mov", "mov,mp4,m4a,3gp,3g2,mj2"):
        tags.append("hvc1")
    if info.codec_tag and _codec_family(codec) == info.codec and info.codec_tag.isprintable():
        tags.append(info.codec_tag)
    return list(dict.fromkeys(tags)) + [None]


def _plan_for(codec: str, info: VideoInfo, settings: EncodeSettings, format_name: str, width: int,
              height: int) -> tuple[VideoEncoding | None, str]:
    """The first working encoding with this encoder (over time bases and tags), or why none works."""
    pix_fmt, notes = pick_pix_fmt(codec, info, settings, width, height)
    options, quantizer = _options(codec, info, settings)
    if format_name in MXF and codec == "libx264":
        # found only mid-run: x264's 250-frame GOP failed a 16 s clip into .mxf at frame 129 (a one-frame
        # trial cannot see it); and FFmpeg's MXF keeps no reordering for H.264, so its B-frames came back
        # with decode-order times (0, 2, 1, 3, ...)
        options = {**options, "g": str(MXF_MAX_GOP), "bf": "0"}
    base = VideoEncoding(codec=codec, pix_fmt=pix_fmt, time_base=Fraction(info.time_base), options=options,
                         quantizer=quantizer, interlaced=info.interlaced, threads=settings.threads, notes=notes)
    why = ""
    for tb in _time_bases(info, format_name):
        for tag in _tags(codec, info, format_name):
            # MXF refuses a stream whose stated rate is not the standard one it counts in (29.99 for 29.97)
            enc = replace(base, time_base=tb, codec_tag=tag, rate=1 / tb if format_name in MXF else None)
            problem = _trial(format_name, enc, info, width, height)
            if problem is None:
                return enc, ""
            why = problem  # the last try (a standard frame rate) says most
    return None, why


def plan_video(info: VideoInfo, settings: EncodeSettings, format_name: str, width: int, height: int) -> VideoEncoding:
    """How to encode the video into this container: the requested encoder (an error if it cannot work),
    else the input's codec, else the container's default, else a common one, saying which in one line;
    with square pixels (and a warning) only where no encoder here keeps the input's pixel aspect."""
    enc = _plan_square(info, settings, format_name, width, height)
    for note in enc.notes:
        log.warning("%s", note)
    return enc


def _plan_square(info: VideoInfo, settings: EncodeSettings, format_name: str, width: int, height: int) -> VideoEncoding:
    try:
        return _plan_video(info, settings, format_name, width, height)
    except TruesightError as kept:
        sar = info.sample_aspect_ratio
        if not sar or sar == 1:
            raise
        try:
            enc = _plan_video(replace(info, sample_aspect_ratio=None), settings, format_name, width, height)
        except TruesightError:
            raise kept from None
        # WebM keeps an aspect only in the stream header, which PyAV does not set: an anamorphic broadcast
        # clip into .webm failed outright
        log.warning("no encoder here keeps the pixel aspect %s in %s: players will show the output at %dx%d "
                    "instead of %dx%d", sar, format_name, width, height, round(width * sar), height)
        return enc


def _plan_video(info: VideoInfo, settings: EncodeSettings, format_name: str, width: int, height: int) -> VideoEncoding:
    if format_name in MXF and not info.rate:
        raise TruesightError("MXF counts frames at a standard rate, and this clip states no frame rate: write .mov, "
                             ".mp4 or .mkv instead")
    if settings.codec:
        if not encoder_exists(settings.codec):
            raise ParameterError("codec", f"{settings.codec!r} is not an encoder this FFmpeg build has")
        enc, why = _plan_for(settings.codec, info, settings, format_name, width, height)
        if enc is None:
            raise ParameterError("codec", f"{settings.codec} cannot be written into {format_name}: {why}")
        return enc
    own = ENCODER_FOR.get(info.codec, info.codec)
    tried: list[str] = []
    for name in dict.fromkeys([own, _default_encoder(format_name), *FALLBACK_ENCODERS]):
        if not name or not encoder_exists(name):
            continue
        enc, why = _plan_for(name, info, settings, format_name, width, height)
        if enc is None and name == own and settings.pix_fmt:
            # the user's pixel format, not the container, may be what the encoder refuses: say so rather
            # than quietly writing another codec
            if _plan_for(name, info, replace(settings, pix_fmt=None), format_name, width, height)[0] is not None:
                raise ParameterError("pix_fmt", f"{settings.pix_fmt!r} does not work with {name} here: {why}")
        if enc is not None:
            if name != own:
                log.warning("%s video cannot be written into %s here (%s); writing %s instead",
                            info.codec, format_name, tried[0] if tried else f"no {own} encoder", name)
            return enc
        tried.append(f"{name}: {why}")
    # not the user's --codec (none was given): the output's container is what fails
    raise TruesightError(f"no encoder can write this video into {format_name} ({'; '.join(tried)}); "
                         "try another output extension")


def _default_encoder(format_name: str) -> str | None:
    """The encoder FFmpeg would use for this container's default video codec (webm: VP9)."""
    try:
        with av.open(io.BytesIO(), "w", format=format_name) as out:
            name = out.default_video_codec
    except (av.FFmpegError, ValueError):
        return None
    return ENCODER_FOR.get(name, name) if name and name != "none" else None
