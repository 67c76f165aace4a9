"""SMPTE timecode arithmetic for windows of a clip."""
from __future__ import annotations

import pytest

from truesight_video.media.timecode import shift


@pytest.mark.parametrize("tc,frames,rate,want", [
    ("19:26:48:04", 30, 30000 / 1001, "19:26:49:04"),  # non-drop at 29.97 counts 30 labels a second
    ("01:00:00:00", 25, 25.0, "01:00:01:00"),
    ("23:59:59:24", 1, 25.0, "00:00:00:00"),  # a day wraps
    ("00:00:59;29", 1, 30000 / 1001, "00:01:00;02"),  # drop-frame skips ;00 and ;01 each minute
    ("00:09:59;29", 1, 30000 / 1001, "00:10:00;00"),  # except every tenth
    ("00:00:00;00", 17982, 30000 / 1001, "00:10:00;00"),  # ten minutes of 29.97 fps
    ("00:00:59;59", 1, 60000 / 1001, "00:01:00;04"),  # 59.94 drops four
    ("00:01:00;02", -1, 30000 / 1001, "00:00:59;29"),
    ("00:00:59.29", 1, 30000 / 1001, "00:01:00.02"),  # FFmpeg reads any separator but ':' as drop-frame
])
def test_shift(tc, frames, rate, want):
    assert shift(tc, frames, rate) == want


@pytest.mark.parametrize("tc,rate", [
    ("not a timecode", 25.0), ("00:00:00:30", 30.0),
    ("00:00:00;00", 25.0),  # 25 fps has no drop-frame count
    ("00:01:00;00", 30000 / 1001),  # a label drop-frame skips
])
def test_what_it_cannot_read_is_none(tc, rate):
    assert shift(tc, 5, rate) is None
