"""SMPTE timecodes ("HH:MM:SS:FF", drop-frame "HH:MM:SS;FF") moved by a number of frames: a window of a
clip starts later than the clip's own timecode says."""
from __future__ import annotations

import re
from dataclasses import replace

from .layout import OtherStream, VideoInfo

_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def shift(timecode: str, frames: int, rate: float) -> str | None:
    """The timecode `frames` frames later at this frame rate (drop-frame counted as SMPTE 12M counts it),
    or None if it is not one this understands."""
    m = _TC.match(timecode.strip())
    if not m or rate <= 0:
        return None
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    nominal = round(rate)
    # drop-frame skips labels, not frames: 2 a minute at 30 (4 at 60), except every tenth minute; FFmpeg
    # (which rebuilds a MOV timecode track from the tag) reads any separator but ':' as drop-frame
    drop = round(nominal / 15) if sep != ":" else 0
    if ff >= nominal or mm > 59 or ss > 59 or (drop and (nominal % 30 or (ss == 0 and ff < drop and mm % 10))):
        return None  # not a timecode, or a drop-frame label that does not exist
    minutes = 60 * hh + mm
    n = (3600 * hh + 60 * mm + ss) * nominal + ff - drop * (minutes - minutes // 10) + frames
    day = 24 * 3600 * nominal - drop * (24 * 60 - 24 * 6)
    n %= day
    if drop:
        per_ten = 600 * nominal - 9 * drop
        per_minute = 60 * nominal - drop
        tens, rest = divmod(n, per_ten)
        n += 9 * drop * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    ff, secs = n % nominal, n // nominal
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}{sep}{ff:02d}"


def moved(info: VideoInfo, others: tuple[OtherStream, ...], metadata: dict[str, str],
          frames: int) -> tuple[VideoInfo, tuple[OtherStream, ...], dict[str, str]]:
    """The video's, the container's and a timecode track's timecodes `frames` frames later (those not read are kept)."""
    if not frames or not info.rate:
        return info, others, metadata
    rate = float(info.rate)

    def tags(t: dict[str, str]) -> dict[str, str]:
        return {k: (shift(v, frames, rate) or v) if k.lower() == "timecode" else v for k, v in t.items()}

    others = tuple(replace(o, timecode=shift(o.timecode, frames, rate) or o.timecode) if o.timecode else o
                   for o in others)
    return replace(info, metadata=tags(info.metadata)), others, tags(metadata)
