"""What a decoded frame carries beside its pixels (FFmpeg frame side data), read without PyAV's
failures, and the HDR metadata it may hold."""

from __future__ import annotations

import struct
from fractions import Fraction

import av

from .layout import HdrMetadata

UNREADABLE = "UNREADABLE"  # the key side_data gives when PyAV could not list a frame's side data
DYNAMIC = {"DYNAMIC_HDR_PLUS": "HDR10+", "DOVI_RPU_BUFFER": "Dolby Vision", "DOVI_METADATA": "Dolby Vision",
           "DYNAMIC_HDR_VIVID": "HDR Vivid", UNREADABLE: "unreadable"}


def side_data(frame: av.VideoFrame) -> dict[str, list[bytes]]:
    """The frame's side data entries by type name."""
    try:
        entries = list(frame.side_data)  # PyAV 18 iterates the entries themselves (its .values() raises)
    except ValueError:
        # PyAV 18 knows side-data types up to 27: an MJPEG camera's per-frame EXIF (31) raised here
        return {UNREADABLE: []}
    out: dict[str, list[bytes]] = {}
    for sd in entries:
        sd = sd if hasattr(sd, "type") else frame.side_data[sd]
        name = getattr(sd.type, "name", None)
        if name:
            out.setdefault(name, []).append(bytes(sd))
    return out


def _fractions(values: tuple[int, ...]) -> tuple[Fraction, ...] | None:
    pairs = list(zip(values[::2], values[1::2]))
    return None if any(d <= 0 for _, d in pairs) else tuple(Fraction(n, d) for n, d in pairs)


def hdr_metadata(data: dict[str, list[bytes]]) -> HdrMetadata | None:
    """The mastering display and content light levels a frame's side data states (HDR10), None if neither."""
    primaries = white = luminance = None
    mastering = b"".join(data.get("MASTERING_DISPLAY_METADATA", [])[:1])
    if len(mastering) >= 88:  # AVMasteringDisplayMetadata: R, G, B, white (x, y), min and max luminance, 2 flags
        values = struct.unpack_from("=20i2i", mastering)
        # each half is stated on its own (Matroska may hold either): the absent one is zeros
        chroma = _fractions(values[:16]) if values[20] else None
        if chroma is not None:
            primaries, white = chroma[:6], chroma[6:8]
        levels = _fractions(values[16:20]) if values[21] else None
        if levels is not None:
            luminance = levels[1], levels[0]
    light = b"".join(data.get("CONTENT_LIGHT_LEVEL", [])[:1])
    max_cll, max_fall = struct.unpack_from("=2I", light) if len(light) >= 8 else (0, 0)
    if primaries is None and luminance is None and not (max_cll or max_fall):
        return None
    return HdrMetadata(primaries=primaries, white=white, luminance=luminance, max_cll=max_cll, max_fall=max_fall)


def hdr_dynamic(data: dict[str, list[bytes]]) -> tuple[str, ...]:
    """The kinds of per-frame HDR metadata a frame's side data holds (HDR10+, Dolby Vision; "unreadable"
    where PyAV could not list it), each named once."""
    return tuple(dict.fromkeys(DYNAMIC[k] for k in data if k in DYNAMIC))
