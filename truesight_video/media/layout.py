"""What a reader found in a clip, as plain frozen dataclasses: the video stream's geometry, timing and
colour, and the other streams the output should carry. The writer takes this description."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

PQ, HLG = 16, 18
FIELD_TT, FIELD_BB, FIELD_TB, FIELD_BT = 2, 3, 4, 5  # AVFieldOrder: coded, then shown first
TEXT_SUBTITLES = {"subrip", "text", "webvtt", "mov_text", "ass", "ssa"}  # cues whose times can be moved and cut
OPEN_CUE_MAX = 5.0  # seconds a text cue without a duration lasts at most (until the next cue)


@dataclass(frozen=True)
class HdrMetadata:
    """HDR10 static metadata: the mastering display's primaries (R, G, B as x, y pairs) and white point,
    its luminance (max, min, cd/m2), and the content's light levels (MaxCLL, MaxFALL; 0: not stated)."""

    primaries: tuple[Fraction, ...] | None = None
    white: tuple[Fraction, ...] | None = None
    luminance: tuple[Fraction, ...] | None = None
    max_cll: int = 0
    max_fall: int = 0


@dataclass(frozen=True)
class VideoInfo:
    """The video stream as a player shows it (colour and rotation read from its first decoded frame)."""

    path: str
    format_name: str
    codec: str
    codec_tag: str
    width: int
    height: int
    pix_fmt: str
    work_fmt: str
    bits: int
    chroma_height: int
    chroma_width: int
    time_base: Fraction
    rate: Fraction | None
    frames: int  # as the container counts them (0: unknown); an edit list may hide some
    duration: float | None  # seconds, from the clip's start
    origin: float  # the container's start time in seconds: times shown to users count from it
    colorspace: int
    color_range: int  # the range the decoded pixels are in (yuvj formats: full)
    color_primaries: int
    color_trc: int
    rotation: int = 0
    interlaced: bool = False
    field_order: int = 0  # AV_FIELD_*: for interlaced video, as its pictures are (TT or BT: top field shown first)
    sample_aspect_ratio: Fraction | None = None
    bit_rate: int = 0
    b_frames: bool = False  # whether the stream reorders frames (its first frame shows after its first packet)
    disposition: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    audio_streams: int = 0
    rgb: bool = False  # stored as RGB: the work planes are YUV we make (colour.info_spec says how)
    hdr_metadata: HdrMetadata | None = None  # as the first frame states it
    hdr_dynamic: tuple[str, ...] = ()  # per-frame HDR metadata the output cannot carry ("HDR10+", "Dolby Vision")

    @property
    def chroma_shape(self) -> tuple[int, int]:
        """(height, width) of the chroma planes."""
        return self.chroma_height, self.chroma_width

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows the picture, after its rotation."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)

    @property
    def top_field_first(self) -> bool:
        """Whether an interlaced picture's top field is shown first."""
        return self.field_order in (FIELD_TT, FIELD_BT)

    @property
    def hdr(self) -> bool:
        """Whether the transfer is PQ or HLG."""
        return self.color_trc in (PQ, HLG)


@dataclass(frozen=True)
class OtherStream:
    """A stream besides the video: copied packet for packet where the output can hold it."""

    index: int
    kind: str  # audio, subtitle, data, video, attachment, cover (an attached picture) or chapters (their QuickTime track)
    codec: str
    label: str  # its handler name, else its codec: what warnings call it
    stream: Any  # the input stream, the template of its copy
    timecode: str | None = None  # a QuickTime timecode track's start, rebuilt rather than copied


@dataclass(frozen=True)
class Layout:
    """Everything the output should hold: the video, the other streams and the container's tags."""

    video: VideoInfo
    others: tuple[OtherStream, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    chapters: tuple[Any, ...] = ()
    begins: float = 0.0  # seconds, on the clock of the timestamps the reader hands, where the clip (or window) begins
    window_start: float = 0.0  # seconds into the clip where a --start window begins (0: from the clip's start)
    first_frame: float = 0.0  # the first frame's time on the file's clock, seconds (a window's times are moved back by it)
