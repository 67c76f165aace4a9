"""Text subtitles carried between containers that hold different text codecs: SRT or ASS from Matroska into
MP4/MOV (mov_text), mov_text into Matroska (SRT) or WebM (WebVTT). Only the words and their times move;
styling (ASS overrides, mov_text style boxes, SRT's <i> tags where the target cannot show them) is dropped."""
from __future__ import annotations

import html
import io
import re
import struct
from fractions import Fraction

import av

from .layout import OPEN_CUE_MAX, TEXT_SUBTITLES
from .reader import codec_name

# the text codecs this writes (it reads TEXT_SUBTITLES), in the order tried: each container holds at most one
TEXT_OUT = ("mov_text", "subrip", "webvtt")
# FFmpeg's text subtitle encoders parse an ASS header for their defaults (mov_text's sample description)
ASS_HEADER = (
    "[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n[V4+ Styles]\r\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    "MarginR, MarginV, Encoding\r\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\r\n\r\n"
    "[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n").encode()
_ASS_DRAWING = re.compile(r"\{[^}]*\\p[1-9][^}]*\}.*?(?:\{[^}]*\\p0[^}]*\}|$)", re.S)  # vector shapes, not words
_ASS_OVERRIDE = re.compile(r"\{[^}]*\}")
_ASS_SOFT = re.compile(r" *\\n *")
_ASS_WRAP = re.compile(r"\{[^}]*\\q([0-3])")
_WRAP_STYLE = re.compile(rb"^\s*WrapStyle\s*:\s*(\d)", re.M | re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_NOT_IBU = re.compile(r"<(?!/?[ibu]>)[^>]*>")  # WebVTT's voice, class and karaoke-timestamp tags
_TAG_NOT_IBU = re.compile(r"</?(?![ibu]>)[a-zA-Z][^>]*>")  # SRT's <font ...>, not a bare '<'
LAST_CUE = 3.0  # seconds the last such cue lasts


def soft_break(header: bytes | None) -> str:
    """What ASS's soft break `\\n` shows as under this script header: a new line in WrapStyle 2, else a space."""
    found = _WRAP_STYLE.search(header or b"")
    return "\n" if found and found.group(1) == b"2" else " "


def text_of(codec: str, data: bytes, soft: str = " ") -> str:
    """The words of one subtitle packet of a text codec (`soft`: what an ASS `\\n` becomes, see soft_break)."""
    if codec == "mov_text":
        if len(data) < 2:
            return ""
        n = struct.unpack(">H", data[:2])[0]
        raw = data[2 : 2 + n]
        utf16 = raw[:2] in (b"\xfe\xff", b"\xff\xfe")
        return raw.decode("utf-16" if utf16 else "utf-8", "replace")
    text = data.decode("utf-8", "replace")
    if codec in ("ass", "ssa"):  # Matroska's ASS packet: ReadOrder, Layer, Style, Name, margins x3, Effect, Text
        text = _ASS_DRAWING.sub("", text.split(",", 8)[-1])
        wrap = _ASS_WRAP.findall(text)  # a line's own {\q2} (or \q0, \q1, \q3) overrides the script's WrapStyle
        soft = ("\n" if wrap[-1] == "2" else " ") if wrap else soft
        text = _ASS_SOFT.sub(soft, _ASS_OVERRIDE.sub("", text)).strip(" ").replace("\\N", "\n").replace("\\h", " ")
    elif codec == "webvtt":
        text = html.unescape(_NOT_IBU.sub("", text))
    return text


def payload(codec: str, text: str) -> bytes:
    """These words as a packet of the target text codec holds them."""
    if codec != "subrip":  # they show ASS overrides (the {\an8} some SRT files carry) as written
        text = _ASS_OVERRIDE.sub("", text)
    if codec == "mov_text":  # which shows SRT's <i> as written, and counts its length in 16 bits
        body = _TAG.sub("", text).encode("utf-8")[:65535].decode("utf-8", "ignore").encode("utf-8")
        return struct.pack(">H", len(body)) + body
    if codec == "webvtt":  # where a bare '<' or '&' starts markup and hides what follows
        text = html.escape(_TAG_NOT_IBU.sub("", text), quote=False)
        text = re.sub(r"&lt;(/?[ibu])&gt;", r"<\1>", text)
    return text.encode("utf-8")


class Cues:
    """One converted stream's cues, in its time base: those without a duration last until the next (at most
    OPEN_CUE_MAX); for a target that shows one sample at a time (mov_text: MP4 cuts each at the next one's
    start, so a sign and a line of dialogue at once lost the sign) overlapping cues become one sample per
    interval with their words joined."""

    def __init__(self, time_base: Fraction, merge: bool) -> None:
        self.tb, self.merge = time_base, merge
        self.pending: list[list] = []  # [start, end or None, text] in arrival (start) order
        self.until: int | None = None  # merged samples are out up to here

    def push(self, start: int, duration: int | None, text: str) -> list[tuple[int, int, str]]:
        """Take a cue; give back the samples now final, as (start, duration, text)."""
        if self.merge and self.until is not None and start < self.until:  # its start is already out: from here
            duration = None if duration is None else duration - (self.until - start)
            start = self.until
            if duration is not None and duration <= 0:
                return []
        self._close_open(start)
        if self.merge:
            out = self._emit(start)
            self.pending.append([start, start + duration if duration else None, text])
            return out
        self.pending.append([start, start + duration if duration else None, text])
        # a cue that keeps its own time goes out at once: held back, Matroska would get it after later clusters
        return self._emit(start)

    def advance(self, now: int) -> list[tuple[int, int, str]]:
        """Give back the samples final by this time: a cue without a duration closes OPEN_CUE_MAX after it began
        (held until the next cue, Matroska got it after the video it belongs beside)."""
        if self.merge:
            return []  # MP4 takes a track's samples whenever they come
        cap = max(1, round(OPEN_CUE_MAX / self.tb))
        for cue in self.pending:
            if cue[1] is None and cue[0] + cap <= now:
                cue[1] = cue[0] + cap
        return self._emit(now)

    def flush(self, end: int | None = None) -> list[tuple[int, int, str]]:
        """Give back every sample left: the last open cue lasts LAST_CUE, not past `end` (the video's)."""
        for cue in self.pending:
            if cue[1] is None:
                cue[1] = cue[0] + max(1, round(LAST_CUE / self.tb))
                if end is not None:
                    cue[1] = max(cue[0] + 1, min(cue[1], end))
        end = max((c[1] for c in self.pending), default=None)
        return [] if end is None else self._emit(end)

    def _close_open(self, start: int) -> None:
        cap = max(1, round(OPEN_CUE_MAX / self.tb))
        for cue in self.pending:
            if cue[1] is None and start > cue[0]:
                cue[1] = min(start, cue[0] + cap)

    def _emit(self, upto: int) -> list[tuple[int, int, str]]:
        if not self.merge:
            out = []
            while self.pending and self.pending[0][1] is not None:
                s, e, t = self.pending.pop(0)
                if t:  # an empty cue (mov_text's filler) only ends the one before it
                    out.append((s, e - s, t))
            return out
        if self.until is None:
            self.until = min((c[0] for c in self.pending), default=upto)
        edges = sorted({self.until, upto} | {x for c in self.pending for x in c[:2]
                                              if x is not None and self.until < x < upto})
        out = []
        for a, b in zip(edges, edges[1:]):
            words = [c[2] for c in self.pending if c[0] <= a and (c[1] is None or c[1] > a) and c[2]]
            if words:
                out.append((a, b - a, "\n".join(words)))
        self.until = upto
        self.pending = [c for c in self.pending if c[1] is None or c[1] > upto]
        return out


def packet_of(codec: str, sample: tuple[int, int, str], time_base: Fraction) -> av.Packet:
    """A packet of the target text codec for one sample (start, duration, text) in this time base."""
    start, duration, text = sample
    p = av.Packet(payload(codec, text))
    p.pts, p.dts, p.duration, p.time_base = start, start, duration, time_base
    return p


def add_text_stream(out: av.container.OutputContainer, codec: str) -> av.stream.Stream:
    """A text subtitle stream of this codec in an output container (before it is started)."""
    s = out.add_stream(codec)
    s.codec_context.subtitle_header = ASS_HEADER
    return s


def plan_text(format_name: str, codec: str, lead: object | None = None) -> str | None:
    """The first text codec this container holds subtitles of `codec` as (tried in memory with one packet and
    read back), or None. `lead` is the output's video for containers that need it first (a TrialVideo)."""
    if codec not in TEXT_SUBTITLES:
        return None
    for target in TEXT_OUT:
        buf = io.BytesIO()
        try:
            with av.open(buf, "w", format=format_name) as out:
                vs = lead.add(out) if lead else None
                s = add_text_stream(out, target)
                out.start_encoding()
                for p in lead.packets(vs) if lead else []:
                    out.mux(p)
                p = packet_of(target, (0, 1000, "trial"), Fraction(1, 1000))
                p.stream = s
                out.mux(p)
            buf.seek(0)
            with av.open(buf, "r") as back:
                if any(b.type == "subtitle" and codec_name(b) == target for b in back.streams):
                    return target
        except (av.FFmpegError, ValueError, TypeError, NotImplementedError):
            continue
    return None
