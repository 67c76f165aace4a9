"""Text subtitles carried between containers that hold different text codecs: SRT or ASS from Matroska into
MP4/MOV (mov_text), mov_text into Matroska (SRT) or WebM (WebVTT). Only the words and their times move;
styling (ASS overrides, mov_text style boxes, SRT's <i> tags where the target cannot show them) is dropped."""
from __future__ import annotations

import io
import re
import struct
from fractions import Fraction

import av

from .reader import codec_name

# the text codecs this reads, and those it writes in the order tried (each container holds at most one)
TEXT_IN = {"subrip", "text", "webvtt", "mov_text", "ass", "ssa"}
TEXT_OUT = ("mov_text", "subrip", "webvtt")
# FFmpeg's text subtitle encoders parse an ASS header for their defaults (mov_text's sample description)
ASS_HEADER = (
    "[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n[V4+ Styles]\r\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    "MarginR, MarginV, Encoding\r\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\r\n\r\n"
    "[Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n").encode()
_ASS_OVERRIDE = re.compile(r"\{[^}]*\}")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def text_of(codec: str, data: bytes) -> str:
    """The words of one subtitle packet of a text codec."""
    if codec == "mov_text":
        if len(data) < 2:
            return ""
        n = struct.unpack(">H", data[:2])[0]
        raw = data[2 : 2 + n]
        return raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("utf-8", "replace")
    text = data.decode("utf-8", "replace")
    if codec in ("ass", "ssa"):  # Matroska's ASS packet: ReadOrder, Layer, Style, Name, margins x3, Effect, Text
        text = text.split(",", 8)[-1]
        text = _ASS_OVERRIDE.sub("", text).replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    return text


def packet_for(codec: str, text: str, like: av.Packet) -> av.Packet:
    """A packet of the target text codec holding these words, at the times of the packet it replaces."""
    if codec != "subrip":  # they show ASS overrides (the {\an8} some SRT files carry) as written
        text = _ASS_OVERRIDE.sub("", text)
    if codec == "mov_text":
        body = _TAG.sub("", text).encode("utf-8")[:65535]  # and mov_text SRT's <i>
        data = struct.pack(">H", len(body)) + body
    else:
        data = text.encode("utf-8")
    p = av.Packet(data)
    p.pts, p.dts, p.duration, p.time_base = like.pts, like.dts, like.duration, like.time_base
    return p


def add_text_stream(out: av.container.OutputContainer, codec: str) -> av.stream.Stream:
    """A text subtitle stream of this codec in an output container (before it is started)."""
    s = out.add_stream(codec)
    s.codec_context.subtitle_header = ASS_HEADER
    return s


def plan_text(format_name: str, codec: str, lead: object | None = None) -> str | None:
    """The first text codec this container holds subtitles of `codec` as (tried in memory with one packet and
    read back), or None. `lead` is the output's video for containers that need it first (a TrialVideo)."""
    if codec not in TEXT_IN:
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
                like = av.Packet(b"")
                like.pts, like.dts, like.duration, like.time_base = 0, 0, 1000, Fraction(1, 1000)
                p = packet_for(target, "trial", like)
                p.stream = s
                out.mux(p)
            buf.seek(0)
            with av.open(buf, "r") as back:
                if any(b.type == "subtitle" and codec_name(b) == target for b in back.streams):
                    return target
        except (av.FFmpegError, ValueError, TypeError, NotImplementedError):
            continue
    return None
