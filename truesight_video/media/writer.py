"""Writing a clip: takes a reader's Layout, encodes the video as integer planes and copies (or, for
audio the container cannot hold, transcodes) every other stream; a context manager that finishes the
file only on a clean exit."""
from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction

import av
import av.filter
import numpy as np

from ..colour import OutputPlanes, info_spec, sws_args
from ..errors import TruesightError, first_line
from ..options import EncodeSettings
from .captions import MAX_TRIPLETS, carrier, packet_with_captions
from .encoders import (MXF, TrialVideo, codes_fields, configure, hdr_lost, lost_in_container, output_tags, plan_video,
                       reads_back)
from .layout import HLG, PQ, TEXT_SUBTITLES, Layout, OtherStream
from .reader import YUVJ, codec_name, planes_frame, work_format
from .subtitles import Cues, add_text_stream, packet_of, plan_text, soft_break, text_of

log = logging.getLogger("truesight_video")

MOV_FAMILY = ("mp4", "mov", "ipod", "3gp", "3g2", "psp")
WEBM_DISPOSITIONS = int(av.stream.Disposition.default | av.stream.Disposition.forced)
# containers whose display matrix FFmpeg writes (a phone clip's rotation into .ts, .mpg, .flv, .avi or .ogv
# was lost without a word: it played upside down)
ROTATING = MOV_FAMILY + ("matroska", "webm")
# where the video's timecode tag lives on (MP4/MOV rebuild their track from it; .avi, .ts, .mpg, .flv and .3gp
# dropped it without a word)
TIMECODE_KEPT = ("mov", "mp4", "matroska", "webm", "ogg", "ogv")
# the sound MPEG-TS marks as sound (FFmpeg's muxer writes every other codec as private data, read back as data)
TS_AUDIO = {"mp2", "mp3", "mp3float", "aac", "aac_latm", "ac3", "eac3", "dts", "dca", "truehd", "opus", "libopus",
            "s302m"}
M2TS_AUDIO = TS_AUDIO | {"pcm_bluray"}  # its Blu-ray mode (a .m2ts or .mts name) marks Blu-ray's PCM too
BDAV_SUFFIXES = (".m2ts", ".mts")
FLV_FOURCC = {"aac", "mp3", "mp3float", "opus", "libopus", "flac", "ac3", "eac3"}  # what FLV names by FourCC
# sound NUT copies undecodable: it keeps no block alignment (WMA, IMA ADPCM) or bits per sample (G.726)
NUT_UNDECODABLE = {"wmav1", "wmav2", "wmapro", "adpcm_ima_wav", "g726"}
FREE_CLOCK = ("mpegts", "mpeg", "vob", "dvd", "svcd", "vcd")  # MPEG-TS/PS: a clip may begin anywhere on the clock
# containers that keep no time for sound: its samples play one after another from the file's start (AVI, whose
# video keeps its time by counting frames) or from the first frame (MXF)
UNTIMED_AUDIO = ("avi", *MXF)
# how far a packet copy of audio may play early or late there before it is transcoded (padded or trimmed) instead:
# under the 45 ms by which sound leading the picture and the 125 ms by which sound trailing it become noticeable
# (ITU-R BT.1359); AAC's priming alone is 21-128 ms late (48-8 kHz)
COPY_EARLY, COPY_LATE = 0.04, 0.1
# tags a muxer rewrites or that would be wrong after re-encoding (Matroska's per-stream statistics)
STALE_TAGS = {"encoder", "duration", "bps", "number_of_frames", "number_of_bytes", "_statistics_writing_app",
              "_statistics_writing_date_utc", "_statistics_tags"}
CONTAINER_TAGS_SKIP = {"encoder", "major_brand", "minor_version", "compatible_brands"}
# what FFmpeg's mp4/mov muxer writes as standard udta/ilst atoms; anything else needs mdta keys
STANDARD_MOV_TAGS = {"title", "artist", "album_artist", "composer", "album", "date", "comment", "genre",
                     "copyright", "grouping", "lyrics", "description", "synopsis", "show", "episode_id", "network",
                     "keywords", "track", "disc", "compilation", "gapless_playback", "hd_video", "media_type",
                     "rating", "location", "creation_time", "encoding_tool", "author", "make", "model"}


def can_copy(format_name: str, stream: av.stream.Stream, packets: list[av.Packet] = (),
             lead: TrialVideo | None = None, m2ts: bool = False) -> bool:
    """Whether this container format holds a packet copy of stream: tried in memory with its first packets
    (used up), beside the output's video where the container needs one (`lead`), and, for video, subtitles
    and data, read back as the same kind and codec, else its header alone. Audio is left to the header: two
    packets of MPEG-TS audio are too few for its reader to tell AAC from MP3."""
    name = stream.codec_context.name if getattr(stream, "codec_context", None) else ""
    if format_name in MOV_FAMILY and format_name != "mov" and name.startswith("pcm_"):
        return False  # the header is accepted, but FFmpeg's mp4 trailer then fails on copied PCM (MOV holds it)
    if format_name == "mpegts" and stream.type == "audio" and name not in (M2TS_AUDIO if m2ts else TS_AUDIO):
        return False  # the muxer takes any codec, but writes these as private data: PCM and FLAC read back as data
    if format_name == "webm" and stream.type == "attachment":
        return False  # WebM's muxer accepts an attachment (a subtitle font) and leaves it out of the file
    if format_name == "flv" and stream.type == "audio" and name not in FLV_FOURCC \
            and (not name or stream.codec_context.layout.name not in ("mono", "stereo")):
        # FFmpeg's flv muxer aborts the process (an assertion, not an error) writing a multichannel header for a
        # codec without a FourCC: PCM from AVI or Matroska (channels in no named order), any surround PCM
        return False
    if format_name == "nut" and name in NUT_UNDECODABLE:
        return False  # without what NUT does not keep these decoders refuse to open: copied, silent
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=format_name) as probe_out:
            vs = lead.add(probe_out) if lead else None
            o = probe_out.add_stream_from_template(stream)
            probe_out.start_encoding()
            for p in lead.packets(vs) if lead else []:
                probe_out.mux(p)
            for p in packets:
                p.stream = o
                probe_out.mux(p)
    except (av.FFmpegError, ValueError, TypeError, NotImplementedError):
        return False
    if not packets or stream.type == "audio":
        return True
    # muxers take some streams and write junk: MP4-style H.264 into MPEG-PS read back as VVC (a file no player
    # opens), mov_text subtitles into MPEG-TS as codec-less data and into MPEG-PS as DVD bitmaps, GoPro
    # telemetry into FLV as text subtitles
    buf.seek(0)
    try:
        with av.open(buf, "r") as back:
            # the copy, not the lead: an H.264 track beside an H.264 lead would pass on the lead's account
            found = [b for b in back.streams if b.type == stream.type and codec_name(b) == codec_name(stream)]
            return len(found) > (lead is not None and stream.type == "video" and codec_name(stream) == lead.family)
    except (av.FFmpegError, ValueError):
        return False


def _first_packets(path: str, indices: list[int], each: int = 2, within: float = 60.0) -> dict[int, list[av.Packet]]:
    """Up to `each` packets with data of each stream named, from its first `within` seconds (only these
    streams are demuxed: MP4 jumps to their samples): what a copy into another container is tried with; a
    stream with none there is tried by its header alone."""
    got: dict[int, list[av.Packet]] = {i: [] for i in indices}
    if not indices:
        return got
    try:
        with av.open(path, metadata_errors="ignore") as c:
            streams = [c.streams[i] for i in indices]
            for s in streams:
                s.discard = av.stream.Discard.default
            start = c.start_time / av.time_base if c.start_time is not None else 0.0
            for p in c.demux(streams):
                t = p.pts if p.pts is not None else p.dts
                if t is not None and p.time_base and float(t * p.time_base) - start > within:
                    break
                if p.size and len(got[p.stream.index]) < each:
                    got[p.stream.index].append(p)
                    if all(len(v) >= each for v in got.values()):
                        break
    except (av.FFmpegError, OSError, IndexError, ValueError, UnicodeError):
        pass  # no samples: the header trial decides
    return got


def _copy_drift(path: str, index: int, mark: float, after: float | None = None, packets: int = 8,
                within: float = 10.0) -> float:
    """Seconds a packet copy of audio stream `index` would play early (negative: late) in a container that
    keeps no time for sound, where it plays from `mark` (seconds on the file's clock) one packet after another:
    the largest offset, over its first packets (from `after` on, in a window), of a packet's time from where
    the packets before it end (a phone's first AAC packet held 1,024 samples and said 8,471)."""
    worst, played, seen, held = 0.0, 0.0, 0, None
    try:
        with av.open(path, metadata_errors="ignore") as c:
            cc = c.streams[index].codec_context
            if cc is None:
                return 0.0  # no decoder: nothing to measure
            if after is not None:
                c.seek(max(0, int((after - 1) * av.time_base)))
            for p in c.demux():
                at = p.pts if p.pts is not None else p.dts
                t = float(at * p.time_base) if at is not None and p.time_base else None
                if t is not None and t > (mark if after is None else after) + within:
                    # a track that starts later still would play at least that much early
                    return worst if seen else within
                if p.stream.index != index or t is None or not p.size or (after is not None and t < after - 1e-6):
                    continue
                if p.is_discard:  # hidden by an edit list: the copy keeps only the last (AAC's priming)
                    held = None if after is not None else (t, p)
                    continue
                for t, p in (held, (t, p)) if held else ((t, p),):
                    off = t - mark - played
                    worst = off if abs(off) > abs(worst) else worst
                    try:
                        decoded = sum(f.samples for f in cc.decode(p))
                    except av.FFmpegError:
                        decoded = 0
                    # a player plays each packet whole, samples the decoder was told to skip (priming) too
                    n = max(cc.frame_size or 0, decoded)
                    played += n / cc.sample_rate if n and cc.sample_rate else float((p.duration or 0) * p.time_base)
                held = None
                seen += 1
                if seen >= packets:
                    break
    except (av.FFmpegError, OSError, IndexError, ValueError):
        return 0.0  # unreadable here: the copy is tried as before
    return worst


# tried in order for audio a container cannot take as it is: the usual codec of the web and of the rest,
# then what MPEG program streams (mp2, ac3), Ogg (opus) and AVI (mp3) hold
AUDIO_ENCODERS = ("aac", "libopus", "mp2", "ac3", "libmp3lame", "pcm_s16le")
NAMED_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


@dataclass(frozen=True)
class AudioEncoding:
    """How a transcoded audio stream is encoded."""

    codec: str
    rate: int
    layout: str
    sample_fmt: str
    priming: int = 0  # samples the encoder puts before the first one it is given (AAC: 1,024)


def _audio_encoding(codec: str, channels: int, rate: int) -> AudioEncoding | None:
    """What this encoder gets for such audio (its rate where the input's is not one it takes), or None if
    it has no sample format in common with PyAV's resampler."""
    enc = av.codec.Codec(codec, "w")
    rates = enc.audio_rates or ()
    if rates and rate not in rates:
        rate = 48000 if 48000 in rates else max(rates)
    formats = [f.name for f in enc.audio_formats or ()]
    fmt = next((f for f in ("fltp", "flt", "s16p", "s16", "s32") if f in formats), None)
    return AudioEncoding(codec, rate, NAMED_LAYOUTS.get(channels, "stereo"), fmt) if fmt else None


def plan_audio(format_name: str, channels: int, rate: int, lead: TrialVideo | None = None,
               deep: bool = False) -> AudioEncoding | None:
    """The first audio encoding this container takes such audio in (tried in memory, beside the output's
    video where the container needs one: opened, fed a frame of silence and read back), at the input's rate
    or else at 48 kHz (all MXF takes), or None; `deep`: lossless sound of more than 16 bits, kept at 24 bits
    where PCM is what the container takes."""
    ours = AUDIO_ENCODERS[:-1] + ("pcm_s24le",) + AUDIO_ENCODERS[-1:] if deep else AUDIO_ENCODERS
    codecs = dict.fromkeys(("libopus" if format_name == "webm" else "aac", *ours))
    for want in dict.fromkeys((rate, 48000)):
        for codec in codecs:
            try:
                enc = _audio_encoding(codec, channels, want)
                if enc is None:
                    continue
                buf = io.BytesIO()
                with av.open(buf, "w", format=format_name) as out:
                    vs = lead.add(out) if lead else None
                    o = out.add_stream(codec, rate=enc.rate)
                    o.layout, o.format = enc.layout, enc.sample_fmt
                    out.start_encoding()
                    step = o.codec_context.frame_size or 1024
                    sound = []
                    # eight frames: MPEG-TS's reader took fewer AAC frames for MP2 (and Opus was chosen for .ts)
                    for k in range(8):
                        silence = av.AudioFrame(format=enc.sample_fmt, layout=enc.layout, samples=step)
                        for plane in silence.planes:
                            np.frombuffer(plane, np.uint8)[:] = 0
                        silence.sample_rate, silence.pts = enc.rate, k * step
                        sound += o.encode(silence)
                    sound += o.encode(None)
                    # the encoder stamps its priming before the first sample it was given
                    starts = [q.pts * q.time_base for q in sound if q.pts is not None and q.time_base]
                    priming = max(0, round(-min(starts) * enc.rate)) if starts else 0
                    if reads_back(buf, out, (lead.packets(vs) if lead else []) + sound, "audio", codec):
                        return replace(enc, priming=priming)
            except (av.FFmpegError, ValueError, TypeError, NotImplementedError, av.codec.codec.UnknownCodecError):
                continue
    return None


def _without_first(frame: av.AudioFrame, samples: int) -> av.AudioFrame | None:
    """An audio frame less its first samples (None if nothing is left)."""
    if samples >= frame.samples:
        return None
    data = frame.to_ndarray()
    channels = frame.layout.nb_channels
    # packed formats hold the channels interleaved in one plane
    kept = data[:, samples:] if frame.format.is_planar else data[:, samples * channels:]
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(kept), format=frame.format.name, layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


@contextmanager
def _writing(format_name: str) -> Iterator[None]:
    """FFmpeg's failures while encoding or muxing as one line naming the container (its own message names
    the hidden temporary file, and read as an internal bug)."""
    try:
        yield
    except av.FFmpegError as e:
        raise TruesightError(f"FFmpeg failed writing the {format_name} output: {e.strerror or first_line(e)}") from None


def _kept_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.lower() not in STALE_TAGS}


class VideoWriter:
    """Encodes frames of planes into a new file laid out as `layout` says, at `width` x `height` (twice
    the input's width, or height, for side by side); `mux()` copies the other streams' packets."""

    def __init__(self, path: str | os.PathLike, layout: Layout, settings: EncodeSettings, *,
                 width: int | None = None, height: int | None = None, format_name: str | None = None) -> None:
        self.layout = layout
        self.info = info = layout.video
        self.width = width or info.width
        self.height = height or info.height
        try:
            # .mts is AVCHD's name for BDAV's 192-byte packets, which FFmpeg's muxer gives .m2ts alone
            m2ts = {"mpegts_m2ts_mode": "1"} if os.fspath(path).lower().endswith(BDAV_SUFFIXES) else None
            self.out = av.open(str(path), "w", format=format_name, options=m2ts)
        except (av.FFmpegError, ValueError) as e:
            raise TruesightError(f"cannot write {path}: {first_line(e)}") from None
        try:
            self._setup(settings)
        except BaseException:
            self.out.close()
            raise

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                with _writing(self.format_name):
                    self.finish()
                    self.out.close()  # writes the trailer
        finally:
            self.out.close()

    def _setup(self, settings: EncodeSettings) -> None:
        info, out = self.info, self.out
        fmt = out.format.name.split(",")[0]
        self.format_name = fmt
        self.encoding = plan_video(info, settings, fmt, self.width, self.height)
        vs = out.add_stream(self.encoding.codec, rate=self.encoding.stream_rate(info))
        configure(vs, self.encoding, info, self.width, self.height)
        vs.disposition = info.disposition
        # ALPHA_MODE would promise players an alpha the opaque output does not hold
        vs.metadata.update({k: v for k, v in _kept_tags(info.metadata).items() if k.lower() != "alpha_mode"})
        if info.rotation:
            vs.set_display_rotation(info.rotation)
            if fmt not in ROTATING:
                log.warning("%s cannot store the display rotation (%d degrees): players will show the output turned "
                            "from the input; .mp4, .mov or .mkv keep it", fmt, info.rotation % 360)
        # VP9/VP8 keep alpha beside the picture (WebM's ALPHA_MODE): FFmpeg's decoders report no alpha format
        vpx_alpha = any(k.lower() == "alpha_mode" and v == "1" for k, v in info.metadata.items())
        if vpx_alpha or any(c.is_alpha for c in av.VideoFormat(info.pix_fmt).components):
            log.warning("%s has an alpha channel: the output is opaque (transparency is not carried)",
                        f"{info.codec} with alpha" if vpx_alpha else info.pix_fmt)
        if info.interlaced and not codes_fields(self.encoding.codec):
            log.warning("interlaced video into %s, which marks no fields: players will show its frames as progressive "
                        "(combing where things move); .ts, .mkv or .mp4 with H.264 or MPEG-2 keep it interlaced",
                        self.encoding.codec)
        rate = self.encoding.rate
        if fmt in MXF and rate and info.rate and abs(rate / info.rate - 1) > Fraction(1, 1000):
            log.warning("MXF counts frames at a standard rate: %.3f fps is written at %.3f fps, %s to keep the "
                        "sound's clock", float(info.rate), float(rate),
                        "frames repeated" if rate > info.rate else "frames dropped")
        self.video = vs
        self.codec = self.encoding.codec
        self.pix_fmt = self.encoding.pix_fmt
        self._fields = self._field_marker() if self.encoding.interlaced else None
        self.spec = info_spec(info)
        self.tags = output_tags(info, self.pix_fmt)  # (color_range, colorspace), as configure set them
        # the planes to be handed: the encoder's own layout where the engine can make it (so no swscale
        # resampling sits between the model and the encoder), else 4:4:4 at the encoder's depth
        self.work_fmt = work_format(self.pix_fmt)[0]
        f = av.VideoFormat(self.work_fmt)
        self.planes = OutputPlanes(bits=f.components[0].bits,
                                   chroma_div=(64 // f.chroma_height(64), 64 // f.chroma_width(64)))
        tags = {k: v for k, v in self.layout.metadata.items() if k.lower() not in CONTAINER_TAGS_SKIP}
        if fmt in MOV_FAMILY:
            self._mov_tags(tags)
            tb = info.time_base
            if tb.numerator == 1 and tb.denominator <= 2**31 - 1:
                out.options["video_track_timescale"] = str(tb.denominator)  # else mov picks >= 10000
        out.metadata.update(tags)
        colour, dropped = lost_in_container(fmt, self.encoding, info, self.width, self.height, tags, dict(out.options))
        if colour:
            log.warning("%s in %s cannot keep %s: players will show the colours differently", self.encoding.codec,
                        fmt, " and ".join(colour))
        # what of the HDR metadata the output does not carry (its colour tags: just above)
        lost = hdr_lost(info.hdr_metadata, self.encoding.codec)
        for name in info.hdr_dynamic:
            if name != "unreadable":
                lost.append(f"its {name} per-frame metadata")
            elif info.hdr:  # PyAV could not list the frame's side data: whatever HDR metadata it holds
                lost.append("any per-frame metadata (PyAV cannot read this clip's)")
        if lost:
            log.warning("%s: %s%s %s not carried into %s",
                        {PQ: "HDR input (PQ)", HLG: "HDR input (HLG)"}.get(info.color_trc, "HDR metadata in the input"),
                        "" if colour else "colour tags are kept, ", " and ".join(lost),
                        "are" if len(lost) > 1 else "is", self.encoding.codec)
        if dropped:
            log.warning("container tags %s cannot be stored in %s; dropped", ", ".join(sorted(dropped)), fmt)
        self.copy: dict[int, av.stream.Stream] = {}
        # subtitles whose words are carried: from, to, cues, what an ASS soft break becomes
        self.texts: dict[int, tuple[str, str, Cues, str]] = {}
        self._text_targets: dict[str, str | None] = {}
        self.transcode: dict[int, tuple[av.stream.Stream, av.stream.Stream]] = {}
        self._audio_next: dict[int, int] = {}  # each transcoded stream's next sample number
        self._priming: dict[int, Fraction] = {}  # each transcoded stream's encoder priming, in seconds
        self._last_pts: int | None = None  # the last video pts, where the encoder's time base is not the input's
        self._hidden: dict[int, av.Packet] = {}  # per copied stream, the last packet an edit list hides
        # seconds every stream moves: back with the clock (below), and on with the video where the encoder's
        # time base cannot hold its first frame's time (a broadcast clip's MPEG-2 had moved 9.5 ms against
        # its copied audio); packets of other streams that come before the first frame wait for it
        self._moved: Fraction | None = None
        self._video_start = Fraction(0)  # the first frame's time in the output (seconds)
        self._previous: av.VideoFrame | None = None  # the last frame encoded (MXF repeats it over a gap)
        self._captions = b""  # closed-caption triplets not yet written (a dropped frame's go with the next)
        self._caption_at: dict[int, bytes] = {}  # triplets by the pts of the frame whose packet takes them
        self._captions_lost: str | None = None  # said once
        self._carrier = carrier(self.codec)  # how the encoder's packets hold captions, None if they cannot
        self._dropped = 0  # frames that fell between two ticks of the encoder's grid
        self._video_end: Fraction | None = None  # where the last frame written ends, on the reader's clock
        self._frame_ticks = round(1 / (info.rate * info.time_base)) if info.rate and info.time_base else 0
        self._phase = Fraction(0)  # of the encoder's grid against the first frame's time, in its ticks
        self._waiting: list[av.Packet] = []
        # a clock that does not begin at zero (a broadcast capture's, hours in) is kept where the container
        # carries any clock; elsewhere every stream moves back by it: a 2-second capture made a Matroska file
        # that said it lasted 5 hours, and an AVI failed (the muxer will not write hours of skipped frames)
        begins = 0 if fmt in FREE_CLOCK or self.layout.begins <= 0 else self.layout.begins
        self._rebase = round(Fraction(begins) / info.time_base) if info.time_base else 0  # in video ticks
        samples = _first_packets(info.path, [s.index for s in self.layout.others
                                             if s.kind not in ("chapters", "cover", "audio")])
        for s in self.layout.others:
            self._add_other(s, samples)
        if self.layout.chapters:
            try:
                out.set_chapters([self._chapter_moved(ch) for ch in self.layout.chapters])
            except (av.FFmpegError, ValueError, TypeError) as e:
                log.warning("chapters cannot be stored in %s (%s); dropped", fmt, first_line(e))

    def _chapter_moved(self, chapter: dict) -> dict:
        """A chapter moved back with the clock, as the streams are."""
        tb = chapter.get("time_base")
        if not self._rebase or not tb:
            return chapter
        d = round(self._rebase * self.info.time_base / tb)
        return {**chapter, "start": max(0, chapter["start"] - d), "end": max(0, chapter["end"] - d)}

    def _mov_tags(self, tags: dict[str, str]) -> None:
        """MP4/MOV keep only their standard tags unless told to write every tag as an mdta key (as
        phones do: a GoPro's firmware, an iPhone's com.apple.quicktime.*); that mode drops cover art."""
        extra = sorted(k for k in tags if k.lower() not in STANDARD_MOV_TAGS)
        if not extra:
            return
        if any(s.kind == "cover" for s in self.layout.others):
            log.warning("tags %s cannot be stored beside cover art in %s; dropped", ", ".join(extra), self.format_name)
            for k in extra:
                del tags[k]
            return
        self.out.options["movflags"] = "use_metadata_tags"

    def _field_marker(self) -> av.filter.Graph:
        """A filter that marks each frame's field order: x264 and the MPEG-2 encoder code the order a frame
        says, not the stream's (PyAV cannot set it on a frame), so top-first video came out bottom first."""
        g = av.filter.Graph()
        chain = [g.add_buffer(width=self.width, height=self.height, format=self.pix_fmt,
                              time_base=self.encoding.time_base),
                 g.add("setfield", "tff" if self.info.top_field_first else "bff"), g.add("buffersink")]
        for a, b in zip(chain, chain[1:]):
            a.link_to(b)
        g.configure()
        return g

    def _disposition(self, s: OtherStream) -> int:
        """A stream's flags, those the container cannot store named in a warning (WebM keeps only default and
        forced: a commentary track became an ordinary one without a word)."""
        flags = int(s.stream.disposition)
        lost = flags & ~WEBM_DISPOSITIONS if self.format_name == "webm" else 0
        if lost:
            names = [{"comment": "commentary"}.get(d.name, d.name.replace("_", " "))
                     for d in av.stream.Disposition if d.value & lost]
            log.warning("%s stream %d (%s): %s flag%s cannot be stored in webm; dropped", s.kind, s.index, s.label,
                        ", ".join(names), "s" if len(names) > 1 else "")
        return flags

    def _add_other(self, s: OtherStream, samples: dict[int, list[av.Packet]]) -> None:
        fmt = self.format_name
        if s.kind == "chapters":
            return  # its titles are the layout's chapters, written as the output container keeps them
        if s.timecode is not None:
            # a QuickTime timecode track: copied packets break the mov trailer, but the muxer rebuilds
            # the track from the video stream's timecode tag (Matroska keeps the tag itself)
            self.video.metadata.setdefault("timecode", s.timecode)
            if fmt not in TIMECODE_KEPT:
                log.warning("timecode %s (%s) cannot be stored in %s; dropped", s.timecode, s.label, fmt)
            return
        src = s.stream
        # MXF's header needs the video before any other stream
        lead = TrialVideo(self.encoding, self.info, self.width, self.height) if fmt in MXF else None
        m2ts = fmt == "mpegts" and self.out.name.lower().endswith(BDAV_SUFFIXES)
        copies, why = can_copy(fmt, src, samples.get(s.index, []), lead, m2ts), f"cannot be copied into {fmt}"
        # (FFmpeg's MXF takes no copied sound, only transcoded PCM, which is trimmed to the first frame)
        if copies and s.kind == "audio" and fmt == "avi":
            # a window's output starts at its first frame, a clip's where every stream was moved back to
            start = self.layout.window_start
            mark = self.layout.first_frame if start else float(self._rebase * self.info.time_base)
            drift = _copy_drift(self.info.path, s.index, mark, after=self.info.origin + start if start else None)
            if drift > COPY_EARLY or -drift > COPY_LATE:
                copies, why = False, (f"would play {abs(drift) * 1000:.0f} ms {'early' if drift > 0 else 'late'} "
                                      f"copied into {fmt}, which keeps no time for sound")
        if copies:
            o = self.out.add_stream_from_template(src)
            o.metadata.update(_kept_tags(src.metadata))
            o.disposition = self._disposition(s)
            self.copy[s.index] = o
            return
        text = None
        if s.kind == "subtitle" and s.codec in TEXT_SUBTITLES:
            if fmt not in self._text_targets:  # the same for every text track: tried once
                self._text_targets[fmt] = plan_text(fmt, s.codec, lead)
            text = self._text_targets[fmt]
        if text is not None:
            o = add_text_stream(self.out, text)
            o.metadata.update(_kept_tags(src.metadata))
            o.disposition = self._disposition(s)
            self.copy[s.index] = o
            # Matroska keeps the ASS script header, whose WrapStyle says what a soft break is, in extradata
            soft = soft_break(src.codec_context.extradata if src.codec_context is not None else None)
            self.texts[s.index] = (s.codec, text, Cues(src.time_base, merge=text == "mov_text"), soft)
            log.warning("subtitle stream %d (%s%s) cannot be copied into %s; converting its text to %s (styling "
                        "is not kept)", s.index, s.label, f", {s.codec}" if s.codec != s.label else "", fmt, text)
            return
        enc = None
        cc = src.codec_context
        if s.kind == "audio" and cc is not None:  # sound no decoder here reads (AC-4) can only be copied
            # a camera's 24-bit PCM (or FLAC, ALAC, SMPTE 302M) into MXF, which takes PCM alone, was cut to 16 bits
            deep = cc.codec is not None and cc.codec.lossless and cc.format is not None and cc.format.bits > 16
            enc = plan_audio(fmt, cc.layout.nb_channels, cc.sample_rate, lead, deep)
        if enc is not None:
            o = self.out.add_stream(enc.codec, rate=enc.rate)
            o.layout, o.format = enc.layout, enc.sample_fmt
            o.metadata.update(_kept_tags(src.metadata))
            o.disposition = self._disposition(s)
            self.transcode[s.index] = (src, o)
            self._priming[s.index] = Fraction(enc.priming, enc.rate)
            rate = src.codec_context.sample_rate
            log.warning("audio stream %d (%s, %s) %s; transcoding to %s%s", s.index, s.label, s.codec or "?", why,
                        enc.codec, f" at {enc.rate} Hz (from {rate})" if rate and enc.rate != rate else "")
            return
        what = "cover art" if s.kind == "cover" else f"{s.kind} stream {s.index}"
        log.warning("%s (%s%s) cannot be stored in %s; dropped", what, s.label,
                    f", {s.codec}" if s.codec and s.codec != s.label else "", fmt)

    def write(self, planes: tuple[np.ndarray, ...], pts: int | None, captions: bytes = b"") -> None:
        """Encode one frame given as integer planes laid out as `self.planes` says, at pts in the
        input's time base, with its closed-caption triplets."""
        with _writing(self.format_name):
            if captions:
                self._keep_captions(captions)
            self._write(planes, pts)

    def _keep_captions(self, captions: bytes) -> None:
        if self._carrier is not None:
            self._captions += captions
        else:
            self._lose_captions(f"{self.codec} cannot carry them (H.264, HEVC or MPEG-2 can)")

    def _lose_captions(self, why: str) -> None:
        if self._captions_lost is None:
            self._captions_lost = why
            log.warning("closed captions (CEA-608/708) in the video: %s; dropped", why)

    def _mux_video(self, packets: list[av.Packet]) -> None:
        """Mux encoded video packets, each with the captions of the frame it holds."""
        for p in packets:
            captions = self._caption_at.pop(p.pts, b"") if p.pts is not None else b""
            if captions:
                with_cc = packet_with_captions(p, self._carrier, captions)
                if with_cc is None:
                    self._lose_captions(f"a {self.codec} packet without a start code")
                p = with_cc or p
            self.out.mux(p)

    def _write(self, planes: tuple[np.ndarray, ...], pts: int | None) -> None:
        if pts is not None and self.texts:  # on the reader's clock, as the cues of converted subtitles are
            self._video_end = (pts + self._frame_ticks) * self.info.time_base
        same = YUVJ.get(self.pix_fmt, self.pix_fmt) == self.work_fmt  # a yuvj twin has the same planes
        frame = planes_frame(planes, self.pix_fmt if same else self.work_fmt)
        if not same:  # with the matrix and range the planes are in (swscale would assume BT.601 limited)
            matrix, rng = sws_args(self.spec)
            frame = frame.reformat(format=self.pix_fmt, src_colorspace=matrix, src_color_range=rng,
                                   dst_colorspace=matrix, dst_color_range=rng)
        tb = self.encoding.time_base
        avi = self.format_name == "avi"  # AVI keeps no time for audio (its samples play from the start)
        if pts is not None:
            pts -= self._rebase
        if pts is not None and tb != self.info.time_base:
            # the encoder counts in its own time base (MPEG-1/2: whole frames), where the first frame's time
            # may not fall: the video moves later onto that grid (never before the streams it was moved
            # back with; in AVI to the nearest frame) and the other streams move alike; two frames must not
            # share a time
            exact = pts * self.info.time_base / tb
            if self._moved is None:
                self._phase = (round(exact) if avi else math.ceil(exact)) - exact
            pts = round(exact + self._phase)
            if self._last_pts is not None and self._fields is None:
                # a frame that a tick on would put more than a tick late is dropped (pushing every frame that
                # shares a tick on, 30.3 fps into MPEG-2 at 30 fell 0.6 s a minute behind its sound); MXF, which
                # counts frames and keeps no times, also fills a gap with the frame before (a phone's 29.99 fps
                # written a frame a tick at 29.97 drifted 40 ms a minute)
                if pts <= self._last_pts and exact + self._phase < self._last_pts:
                    self._dropped += 1
                    return
                for tick in range(self._last_pts + 1, pts) if self.format_name in MXF else ():
                    self._previous.pts = tick
                    self._mux_video(self.video.encode(self._previous))
            pts = pts if self._last_pts is None else max(pts, self._last_pts + 1)
            self._last_pts = pts
        if self._moved is None:
            self._video_start = pts * tb if pts is not None else Fraction(0)
            self._release((0 if avi else self._phase * tb) - self._rebase * self.info.time_base)
        frame.pts, frame.time_base = pts, tb
        if self._captions and pts is not None:  # at most 31 triplets a frame; the rest go with the next
            n = MAX_TRIPLETS * 3
            self._caption_at[pts], self._captions = self._captions[:n], self._captions[n:]
        if self._fields is not None:
            self._fields.push(frame)
            frame = self._fields.pull()
        # some encoders (ProRes) write the frame's own tags, others the stream's: set both alike
        frame.color_range, frame.colorspace = self.tags
        frame.color_primaries = self.info.color_primaries
        frame.color_trc = self.info.color_trc
        self._mux_video(self.video.encode(frame))
        self._previous = frame
        for idx, (_, target, cues, _) in self.texts.items():
            if not cues.merge and self._video_end is not None:
                for sample in cues.advance(int(self._video_end / cues.tb)):
                    self._mux_copy(idx, packet_of(target, sample, cues.tb))

    def mux(self, packet: av.Packet) -> None:
        """Copy (or transcode) a packet of another stream."""
        if self._moved is None:
            self._waiting.append(packet)
        else:
            with _writing(self.format_name):
                self._mux_other(packet)

    def _release(self, moved: Fraction) -> None:
        """Set how far the other streams move and mux the packets that waited for it."""
        self._moved = moved
        for p in self._waiting:
            self._mux_other(p)
        self._waiting = []

    def _mux_other(self, packet: av.Packet) -> None:
        idx = packet.stream.index
        if idx in self.texts:
            at = packet.pts if packet.pts is not None else packet.dts
            if at is None or not packet.time_base:
                return  # a cue with no time has nowhere to go
            source, target, cues, soft = self.texts[idx]
            for sample in cues.push(at, packet.duration, text_of(source, bytes(packet), soft)):
                self._mux_copy(idx, packet_of(target, sample, packet.time_base))
        elif idx in self.copy:
            if packet.is_discard and self.format_name not in MOV_FAMILY:
                # audio an MP4 edit list hides (it started before the video) would be heard in a container
                # that cannot hide it: only the last such packet is kept, the decoder's pre-roll (AAC priming)
                self._hidden[idx] = packet
                return
            held = self._hidden.pop(idx, None)
            for p in (held, packet) if held is not None else (packet,):
                self._mux_copy(idx, p)
        elif idx in self.transcode:
            for frame in self.transcode[idx][0].codec_context.decode(packet):
                self._encode_audio(idx, frame)

    def _mux_copy(self, idx: int, p: av.Packet) -> None:
        """Mux a packet into the copy of stream idx, moved with the clock."""
        if self._moved and p.time_base:
            ticks = round(self._moved / p.time_base)
            p.pts = None if p.pts is None else p.pts + ticks
            p.dts = None if p.dts is None else p.dts + ticks
        p.stream = self.copy[idx]
        self.out.mux(p)

    def _encode_audio(self, idx: int, frame: av.AudioFrame | None) -> None:
        """Encode a transcoded stream's samples as one continuous run (numbered in samples, as the encoder's
        resampler needs) from where the input's first samples lie, so audio that starts after (or before)
        the video stays in sync; a hole in the input's audio is kept as silence."""
        src, o = self.transcode[idx]
        if frame is not None:
            t = frame.pts * frame.time_base if frame.pts is not None and frame.time_base else None
            due = round(((t or 0) + (self._moved or 0)) * frame.sample_rate)
            untimed = self.format_name in UNTIMED_AUDIO
            if idx not in self._audio_next:
                # where sound keeps no start time it is padded or trimmed to start with the first frame (MXF: a DVB
                # capture's sound began 0.8 s before its first decodable frame, and played 0.8 s early) or the
                # file (AVI: sound that began half a second after the picture played that much early), the
                # encoder's priming included (AVI cannot mark it: AAC at 8 kHz played 128 ms late)
                start = (self._video_start if self.format_name in MXF else 0) + self._priming.get(idx, 0)
                self._audio_next[idx] = round(start * frame.sample_rate) if untimed else due
            late = due - self._audio_next[idx] if t is not None else 0
            if late > frame.sample_rate // 100:
                # a phone's first AAC packet said 8,471 samples and held 1,024: run on, everything after it
                # played 155 ms early
                self._silence(idx, frame, late)
            elif late < -(frame.sample_rate // 100) and untimed:
                frame = _without_first(frame, -late)
                if frame is None:
                    return
            frame.pts, frame.time_base = self._audio_next[idx], Fraction(1, frame.sample_rate)
            self._audio_next[idx] += frame.samples
        self.out.mux(o.encode(frame))

    def _silence(self, idx: int, like: av.AudioFrame, samples: int) -> None:
        """Encode this many samples of silence into a transcoded stream, in frames of at most a second."""
        o = self.transcode[idx][1]
        zero = 0x80 if like.format.name.startswith("u8") else 0
        while samples > 0:
            n = min(samples, like.sample_rate)
            f = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=n)
            for plane in f.planes:
                np.frombuffer(plane, np.uint8)[:] = zero
            f.sample_rate = like.sample_rate
            f.pts, f.time_base = self._audio_next[idx], Fraction(1, like.sample_rate)
            self._audio_next[idx] += n
            self.out.mux(o.encode(f))
            samples -= n

    def finish(self) -> None:
        """Flush the encoders (closing the writer then writes the trailer)."""
        if self._dropped and self.format_name not in MXF:  # MXF's warning came first
            log.warning("%d frame%s fell between two ticks of %s's %.3f fps and %s dropped to keep time with the sound",
                        self._dropped, "s" if self._dropped > 1 else "", self.codec, float(1 / self.encoding.time_base),
                        "were" if self._dropped > 1 else "was")
        if self._moved is None:  # no frame was written: the other streams move only with the clock
            self._release(-self._rebase * self.info.time_base)
        self._mux_video(self.video.encode(None))
        if self._captions or any(self._caption_at.values()):
            self._lose_captions("those of frames after the last one written had no frame to go with")
        for idx, (_, target, cues, _) in self.texts.items():
            for sample in cues.flush(int(self._video_end / cues.tb) if self._video_end is not None else None):
                self._mux_copy(idx, packet_of(target, sample, cues.tb))
        for idx, (src, o) in self.transcode.items():
            for frame in src.codec_context.decode(None):
                self._encode_audio(idx, frame)
            self._encode_audio(idx, None)
