"""SMPTE timecodes ("HH:MM:SS:FF", drop-frame "HH:MM:SS;FF") moved by a number of frames: a window of a
clip starts later than the clip's own timecode says."""
from __future__ import annotations

import re

_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def shift(timecode: str, frames: int, rate: float) -> str | None:
    """The timecode `frames` frames later at this frame rate (drop-frame counted as SMPTE 12M counts it),
    or None if it is not one this understands."""
    m = _TC.match(timecode.strip())
    if not m or rate <= 0:
        return None
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    nominal = round(rate)
    drop_frame = sep in ";,"
    # drop-frame skips labels, not frames: 2 a minute at 30 (4 at 60), except every tenth minute
    drop = round(nominal / 15) if drop_frame else 0
    if ff >= nominal or mm > 59 or ss > 59 or (drop and nominal % 30):
        return None
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
