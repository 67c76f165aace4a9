"""A still's colour profile (ICC), EXIF and PNG colour chunks, read from a JPEG or PNG and written into the
sharpened file (OpenCV writes none): without the profile a wide-gamut phone photo is shown as sRGB,
washed out. Also whether a PNG or WebP is animated, or a TIFF holds pages (OpenCV reads the first only)."""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_JPEG_SOI = b"\xff\xd8"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_EXIF_ID = b"Exif\x00\x00"
_ICC_ID = b"ICC_PROFILE\x00"
_ICC_CHUNK = 65519  # a JPEG segment holds 65,533 bytes; 14 go to the ICC marker and sequence numbers
_ORIENTATION = 0x0112
_NEW_SUBFILE_TYPE = 0x00FE
_MAX_ICC = 16 << 20  # a bomb guard: real profiles are kilobytes to a few megabytes


@dataclass(frozen=True)
class StillMeta:
    """What a still's file says about its pixels besides their values."""

    icc: bytes | None = None
    exif: bytes | None = None  # the TIFF structure, without JPEG's Exif header
    # a PNG's other colour chunks as they were (gAMA, cHRM, sRGB; cICP marks HDR): written into PNGs only
    png_colour: tuple[bytes, ...] = ()
    jpeg_sampling: tuple[int, int] | None = None  # a colour JPEG's luma over chroma sampling: (2, 2) is 4:2:0
    # an animated PNG's frames (acTL), a TIFF's full-size pages; 0 for an animated WebP (it states no count)
    frames: int = 1


def read_meta(path: str | Path) -> StillMeta:
    """The ICC profile and EXIF of a JPEG or PNG file (empty for other formats, or a file it cannot parse)."""
    return meta_of(Path(path).read_bytes())


def meta_of(data: bytes) -> StillMeta:
    """The ICC profile and EXIF of a JPEG or PNG held in memory (empty otherwise)."""
    try:
        if data.startswith(_JPEG_SOI):
            return _jpeg_meta(data)
        if data.startswith(_PNG_SIG):
            return _png_meta(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            # an animated WebP's VP8X header has the animation flag; the frame count is not stated up front
            return StillMeta(frames=0 if data[12:16] == b"VP8X" and data[20] & 0x02 else 1)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return StillMeta(frames=_tiff_pages(data))
    except (struct.error, zlib.error, IndexError, ValueError):
        pass  # metadata is a courtesy: a damaged header must not stop the pixels
    return StillMeta()


def with_meta(data: bytes, meta: StillMeta) -> bytes:
    """A JPEG or PNG that OpenCV just encoded (it writes no metadata of its own) with meta added; other
    formats as they are."""
    if data.startswith(_JPEG_SOI):
        return _jpeg_with(data, meta)
    if data.startswith(_PNG_SIG):
        return _png_with(data, meta)
    return data


def jpeg_complete(data: bytes) -> bool:
    """Whether a JPEG's image data runs to its end marker: one cut short decodes, with grey rows where the
    data stopped, and no error."""
    end = 2
    for _, _, _, end in _jpeg_segments(data):
        pass
    return data.find(b"\xff\xd9", end) >= 0


def orientation(exif: bytes) -> int:
    """The EXIF orientation (1 = as stored; 0 where there is none or it cannot be read)."""
    found = _orientation_at(exif)
    return struct.unpack_from("<H" if exif[:2] == b"II" else ">H", exif, found)[0] if found else 0


def upright_exif(exif: bytes) -> bytes | None:
    """EXIF with its orientation set to 1, for pixels turned upright when read (a viewer that turned them
    again would show them sideways); None where it cannot be parsed, so cannot be made safe."""
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return None
    found = _orientation_at(exif)
    if found is None:
        return None
    buf = bytearray(exif)
    if found:
        struct.pack_into("<H" if exif[:2] == b"II" else ">H", buf, found, 1)
    return bytes(buf)


def _orientation_at(exif: bytes) -> int | None:
    """Where IFD0's orientation value lies (0: no such tag; None: not parseable EXIF)."""
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return None
    e = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(e + "I", exif, 4)
        (count,) = struct.unpack_from(e + "H", exif, ifd)
        for k in range(count):
            at = ifd + 2 + 12 * k
            tag, kind = struct.unpack_from(e + "HH", exif, at)
            if tag == _ORIENTATION and kind == 3:  # SHORT, held in the entry itself
                struct.unpack_from(e + "H", exif, at + 8)
                return at + 8
    except struct.error:
        return None
    return 0


def _tiff_pages(data: bytes) -> int:
    """How many full-size pictures a TIFF's chain of IFDs holds (a scanner's reduced-size previews are not pages)."""
    e = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(e + "I", data, 4)
    pages, seen = 0, set()
    try:
        while ifd and ifd not in seen and len(seen) < 10_000:  # a loop or a bomb ends it
            seen.add(ifd)
            (count,) = struct.unpack_from(e + "H", data, ifd)
            reduced = False
            for k in range(count):
                tag, kind = struct.unpack_from(e + "HH", data, ifd + 2 + 12 * k)
                if tag > _NEW_SUBFILE_TYPE:  # entries are sorted by tag: the rest cannot be it
                    break
                if tag == _NEW_SUBFILE_TYPE and kind == 4:  # LONG: bit 0 marks a reduced-resolution copy
                    reduced = bool(struct.unpack_from(e + "I", data, ifd + 2 + 12 * k + 8)[0] & 1)
            pages += not reduced
            (ifd,) = struct.unpack_from(e + "I", data, ifd + 2 + 12 * count)
    except struct.error:
        pass  # a chain cut short: the pages counted so far
    return max(pages, 1)


def fits(icc: bytes, gray: bool) -> bool:
    """Whether a profile describes the pixels as written: OpenCV turns CMYK into RGB, and a grey file needs a
    grey profile (libpng refuses a mismatch)."""
    return len(icc) >= 128 and icc[16:20] == (b"GRAY" if gray else b"RGB ")


def _jpeg_segments(data: bytes):
    """(marker, payload, start, end) of each header segment up to the scan."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the pixels follow
            return
        (n,) = struct.unpack_from(">H", data, i + 2)
        yield marker, data[i + 4:i + 2 + n], i, i + 2 + n
        i += 2 + n


def _jpeg_meta(data: bytes) -> StillMeta:
    exif, icc, total, sampling = None, {}, 0, None
    for marker, payload, _, _ in _jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2) and len(payload) >= 15 and payload[5] == 3:  # a frame header, 3 components
            (y, c) = payload[7], payload[10]  # each component: id, h << 4 | v, table
            sampling = ((y >> 4) // max(1, c >> 4), (y & 15) // max(1, c & 15))
        elif marker == 0xE1 and payload.startswith(_EXIF_ID) and exif is None:
            exif = payload[len(_EXIF_ID):]
        elif marker == 0xE2 and payload.startswith(_ICC_ID):
            n, total = payload[len(_ICC_ID)], payload[len(_ICC_ID) + 1]  # chunk n of total, from 1
            icc[n] = payload[len(_ICC_ID) + 2:]
    whole = icc and sorted(icc) == list(range(1, total + 1))  # a chunk missing: a corrupt profile
    return StillMeta(b"".join(icc[k] for k in sorted(icc)) if whole else None, exif, jpeg_sampling=sampling)


def _jpeg_with(data: bytes, meta: StillMeta) -> bytes:
    segments = []
    if meta.exif is not None and len(meta.exif) + len(_EXIF_ID) <= 65533:
        segments.append(_segment(0xE1, _EXIF_ID + meta.exif))
    if meta.icc:
        chunks = [meta.icc[k:k + _ICC_CHUNK] for k in range(0, len(meta.icc), _ICC_CHUNK)]
        if len(chunks) <= 255:
            segments += [_segment(0xE2, _ICC_ID + bytes((n, len(chunks))) + c) for n, c in enumerate(chunks, 1)]
    at = 2  # after SOI, and after a JFIF APP0 where there is one (readers look for it first)
    for marker, _, _, end in _jpeg_segments(data):
        if marker != 0xE0:
            break
        at = end
    return data[:at] + b"".join(segments) + data[at:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _png_chunks(data: bytes):
    """(type, body, start, end) of each chunk."""
    i = len(_PNG_SIG)
    while i + 8 <= len(data):
        n, kind = struct.unpack_from(">I4s", data, i)
        yield kind, data[i + 8:i + 8 + n], i, i + 12 + n
        if kind == b"IEND":
            return
        i += 12 + n


_PNG_COLOUR = (b"gAMA", b"cHRM", b"sRGB", b"cICP")


def _png_meta(data: bytes) -> StillMeta:
    exif = icc = None
    colour, frames = [], 1
    for kind, body, start, end in _png_chunks(data):
        if kind in _PNG_COLOUR:
            colour.append(data[start:end])
        elif kind == b"acTL":
            (frames,) = struct.unpack_from(">I", body)
        elif kind == b"iCCP":
            unzip = zlib.decompressobj()
            icc = unzip.decompress(body[body.index(b"\x00") + 2:], _MAX_ICC)  # name, NUL, method 0, zlib
            icc = None if unzip.unconsumed_tail else icc
        elif kind == b"eXIf":
            exif = body[len(_EXIF_ID):] if body.startswith(_EXIF_ID) else body  # some writers keep JPEG's prefix
    return StillMeta(icc, exif, png_colour=tuple(colour), frames=frames)


def png_colour_type(data: bytes) -> int | None:
    """A PNG's colour type from its header (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA), else None."""
    return data[25] if data.startswith(_PNG_SIG) and data[12:16] == b"IHDR" and len(data) > 25 else None


def grey_alpha_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """A grey + alpha PNG (colour type 4) of HxWx2 uint8 or uint16 pixels: OpenCV writes 1, 3 or 4 channels
    only, and a grey image with alpha came out as RGBA."""
    h, w = pixels.shape[:2]
    deep = pixels.dtype == np.uint16
    rows = np.ascontiguousarray(pixels.astype(">u2") if deep else pixels).view(np.uint8).reshape(h, -1)
    bpp = 4 if deep else 2
    filtered = rows.copy()
    filtered[:, bpp:] -= rows[:, :-bpp]  # the Sub filter (each byte less the pixel's to its left), mod 256
    raw = np.concatenate([np.ones((h, 1), np.uint8), filtered], axis=1).tobytes()  # 1: Sub, on every row
    head = struct.pack(">IIBBBBB", w, h, 16 if deep else 8, 4, 0, 0, 0)
    return _PNG_SIG + _chunk(b"IHDR", head) + _chunk(b"IDAT", zlib.compress(raw, level)) + _chunk(b"IEND", b"")


def grey_transparent_level(data: bytes) -> int | None:
    """A grey PNG's transparent level (its tRNS chunk) as OpenCV decodes the pixels, else None."""
    # OpenCV reads a grey PNG's tRNS as nothing (RGB and palette ones it turns into alpha itself)
    if not data.startswith(_PNG_SIG):
        return None
    depth = None
    for kind, body, _, _ in _png_chunks(data):
        if kind == b"IHDR" and len(body) >= 10:
            if body[9] != 0:  # colour type 0: grey without alpha
                return None
            depth = body[8]
        elif kind == b"tRNS" and depth in (1, 2, 4, 8, 16) and len(body) == 2:  # other sizes: invalid
            (level,) = struct.unpack_from(">H", body)
            level &= (1 << depth) - 1
            return level * (255 // ((1 << depth) - 1)) if depth < 8 else level  # 1-4 bits come scaled to 8
        elif kind == b"IDAT":
            return None
    return None


def _png_with(data: bytes, meta: StillMeta) -> bytes:
    chunks = list(meta.png_colour)
    if meta.icc:
        chunks.append(_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(meta.icc)))
    if meta.exif is not None:
        chunks.append(_chunk(b"eXIf", meta.exif))
    for kind, _, _, end in _png_chunks(data):
        if kind == b"IHDR":  # both must come before the image data; right after the header is simplest
            return data[:end] + b"".join(chunks) + data[end:]
    return data


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
