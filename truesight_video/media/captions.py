"""Closed captions (CEA-608/708) that travel inside the video bitstream, carried from the decoded
frames into the encoded packets (FFmpeg's encoders take them from frame side data, which PyAV
cannot attach to a frame it made)."""

from __future__ import annotations

import re

import av

from .sidedata import side_data

# the codecs whose packets can hold ATSC A/53 captions, and how: an H.264 or HEVC SEI NAL unit,
# MPEG-2 picture user data
CARRIERS = {"h264": "h264", "hevc": "hevc", "mpeg2video": "mpeg2"}
_A53_HEAD = bytes([0xB5, 0x00, 0x31]) + b"GA94" + bytes([0x03])  # ITU-T T.35: USA, ATSC, 'GA94', cc_data
_START = re.compile(b"\x00\x00\x01")
MAX_TRIPLETS = 31  # cc_count is five bits


def carrier(encoder: str) -> str | None:
    """How an encoder's packets hold captions ("h264", "hevc", "mpeg2"), None if they cannot."""
    try:
        return CARRIERS.get(av.codec.Codec(encoder, "w").canonical_name)
    except (av.FFmpegError, ValueError):
        return None


def frame_captions(frame: av.VideoFrame) -> bytes:
    """The frame's caption triplets (cc_valid/cc_type byte, two data bytes each), empty if none."""
    return b"".join(d[: len(d) - len(d) % 3] for d in side_data(frame).get("A53_CC", []))


def _cc_data(triplets: bytes) -> bytes:
    """A/53 cc_data(): process_cc_data_flag, cc_count, em_data, the triplets, marker bits."""
    marked = bytearray(triplets)
    # each triplet's five marker bits are ones (so no malformed triplet can make an MPEG-2 start code)
    marked[::3] = bytes(b | 0xF8 for b in triplets[::3])
    return bytes([0x40 | len(triplets) // 3, 0xFF]) + bytes(marked) + b"\xff"


def _escaped(rbsp: bytes) -> bytes:
    """H.264/HEVC emulation prevention: a 3 after any two zero bytes that precede a byte <= 3."""
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _sei(payload: bytes, header: bytes) -> bytes:
    size = bytearray()
    n = len(payload)
    while n >= 255:
        size.append(255)
        n -= 255
    size.append(n)
    return b"\x00\x00\x00\x01" + header + _escaped(bytes([4]) + bytes(size) + payload + b"\x80")


def caption_unit(kind: str, triplets: bytes) -> bytes:
    """The unit (with its start code) that holds these triplets in a `kind` bitstream."""
    if kind == "mpeg2":
        return b"\x00\x00\x01\xb2" + b"GA94\x03" + _cc_data(triplets)
    header = b"\x06" if kind == "h264" else b"\x4e\x01"  # H.264 SEI; HEVC prefix SEI, layer 0, temporal id 0
    return _sei(_A53_HEAD + _cc_data(triplets), header)


def _first_picture_data(data: bytes, kind: str) -> int | None:
    """Where the first slice's start code begins (with a leading zero byte if it has one), None if none."""
    for m in _START.finditer(data):
        at = m.end()
        if at >= len(data):
            break
        b = data[at]
        if (kind == "h264" and 1 <= b & 0x1F <= 5) or (kind == "hevc" and (b >> 1) & 0x3F <= 31) \
                or (kind == "mpeg2" and 0x01 <= b <= 0xAF):
            start = m.start()
            return start - 1 if start > 0 and data[start - 1] == 0 else start
    return None


def with_captions(data: bytes, kind: str, triplets: bytes) -> bytes | None:
    """An Annex B / MPEG-2 packet's bytes with the caption unit before its first slice; None if the
    packet holds no slice behind a start code."""
    at = _first_picture_data(data, kind)
    if at is None:
        return None
    return data[:at] + caption_unit(kind, triplets[: MAX_TRIPLETS * 3]) + data[at:]


def packet_with_captions(packet: av.Packet, kind: str, triplets: bytes) -> av.Packet | None:
    """A copy of an encoded video packet that carries these caption triplets; None if it cannot."""
    data = with_captions(bytes(packet), kind, triplets)
    if data is None:
        return None
    out = av.Packet(len(data))  # FFmpeg's own buffer, with the zero padding its readers may run into
    memoryview(out)[:] = data
    out.pts, out.dts, out.duration, out.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    out.is_keyframe = packet.is_keyframe
    out.stream = packet.stream
    return out
