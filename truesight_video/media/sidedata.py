"""What a decoded frame carries beside its pixels (FFmpeg frame side data), read without PyAV's
failures, and the HDR mastering metadata it may hold."""

from __future__ import annotations

import struct
from fractions import Fraction

import av

from .layout import HdrMetadata


def side_data(frame: av.VideoFrame) -> dict[str, bytes]:
    """The frame's side data by type name (entries of one type joined)."""
    try:
        entries = list(frame.side_data)  # PyAV 18 iterates the entries themselves (its .values() raises)
    except ValueError:
        # PyAV 18 knows side-data types up to 27: an MJPEG camera's per-frame EXIF (31) raised here
        return {}
    out: dict[str, bytes] = {}
    for sd in entries:
        sd = sd if hasattr(sd, "type") else frame.side_data[sd]
        name = getattr(sd.type, "name", None)
        if name:
            out[name] = out.get(name, b"") + bytes(sd)
    return out


def _fractions(values: tuple[int, ...]) -> tuple[Fraction, ...] | None:
    pairs = list(zip(values[::2], values[1::2]))
    return None if any(d <= 0 for _, d in pairs) else tuple(Fraction(n, d) for n, d in pairs)


def hdr_metadata(frame: av.VideoFrame) -> HdrMetadata | None:
    """The mastering display and content light levels a frame states (HDR10), None if neither."""
    data = side_data(frame)
    primaries = white = luminance = None
    mastering = data.get("MASTERING_DISPLAY_METADATA", b"")
    if len(mastering) >= 88:  # AVMasteringDisplayMetadata: R, G, B, white (x, y), min and max luminance, 2 flags
        values = struct.unpack_from("=20i2i", mastering)
        found = _fractions(values[:20])
        if found is not None and values[20]:
            primaries, white = found[:6], found[6:8]
        if found is not None and values[21]:
            luminance = found[9], found[8]
    light = data.get("CONTENT_LIGHT_LEVEL", b"")
    max_cll, max_fall = struct.unpack_from("=2I", light) if len(light) >= 8 else (0, 0)
    if primaries is None and luminance is None and not (max_cll or max_fall):
        return None
    return HdrMetadata(primaries=primaries, white=white, luminance=luminance, max_cll=max_cll, max_fall=max_fall)


DYNAMIC = {"DYNAMIC_HDR_PLUS": "HDR10+", "DOVI_RPU_BUFFER": "Dolby Vision", "DOVI_METADATA": "Dolby Vision",
           "DYNAMIC_HDR_VIVID": "HDR Vivid"}


def hdr_dynamic(frame: av.VideoFrame) -> tuple[str, ...]:
    """The kinds of per-frame HDR metadata a frame carries (HDR10+, Dolby Vision), each named once."""
    return tuple(dict.fromkeys(DYNAMIC[k] for k in side_data(frame) if k in DYNAMIC))
