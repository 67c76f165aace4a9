"""Colour profiles and EXIF carried into sharpened stills, on hand-made file headers."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from truesight_video.stillmeta import StillMeta, fits, meta_of, orientation, read_meta, upright_exif, with_meta


def _exif(order: bytes, value: int) -> bytes:
    e = "<" if order == b"II" else ">"
    return order + struct.pack(e + "HIH", 42, 8, 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, value, 0) + bytes(4)


def _profile(space: bytes) -> bytes:
    head = struct.pack(">I4sI4s", 132, b"none", 0x02100000, b"mntr") + space + b"XYZ " + bytes(12) + b"acsp"
    return head + bytes(132 - len(head))


def test_orientation_is_read_and_reset_in_both_byte_orders():
    for order in (b"II", b"MM"):
        assert orientation(_exif(order, 6)) == 6
        assert orientation(upright_exif(_exif(order, 6))) == 1
    assert upright_exif(b"not exif") is None and orientation(b"II") == 0


def test_a_profile_is_kept_only_when_it_describes_the_pixels_written():
    # OpenCV turns CMYK JPEGs into RGB: their CMYK profile would misdescribe the output
    assert fits(_profile(b"RGB "), gray=False) and fits(_profile(b"GRAY"), gray=True)
    assert not fits(_profile(b"CMYK"), gray=False) and not fits(_profile(b"RGB "), gray=True)


def test_a_jpeg_profile_with_a_chunk_missing_is_dropped(tmp_path):
    ok, jpg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    data = jpg.tobytes()
    body = b"ICC_PROFILE\x00" + bytes((1, 2)) + _profile(b"RGB ")  # chunk 1 of 2, and no chunk 2
    (tmp_path / "a.jpg").write_bytes(data[:2] + b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body + data[2:])
    assert read_meta(tmp_path / "a.jpg").icc is None


def test_png_exif_with_a_jpeg_prefix_and_a_png_round_trip(tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    tiff = _exif(b"MM", 3)
    chunk = b"eXIf" + b"Exif\x00\x00" + tiff  # some writers keep JPEG's prefix
    data = png.tobytes()
    (tmp_path / "a.png").write_bytes(data[:33] + struct.pack(">I", len(chunk) - 4) + chunk
                                     + struct.pack(">I", zlib.crc32(chunk)) + data[33:])
    assert read_meta(tmp_path / "a.png").exif == tiff
    (tmp_path / "b.png").write_bytes(with_meta(png.tobytes(), StillMeta(_profile(b"RGB "), tiff)))
    assert read_meta(tmp_path / "b.png") == StillMeta(_profile(b"RGB "), tiff)
    assert cv2.imread(str(tmp_path / "b.png")) is not None
    assert meta_of(b"BM" + bytes(60)) == StillMeta()  # other formats: nothing, and no error


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_colour_chunks_are_carried_and_an_animated_png_is_known():
    # gAMA/cHRM (linear data) and cICP (an HDR PNG) were dropped: the output was shown as plain sRGB;
    # an animated PNG lost its later frames without a word
    ok, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    data = png.tobytes()
    colour = (_png_chunk(b"gAMA", struct.pack(">I", 100000)), _png_chunk(b"cICP", bytes((9, 16, 0, 1))))
    src = data[:33] + b"".join(colour) + _png_chunk(b"acTL", struct.pack(">II", 3, 0)) + data[33:]
    meta = meta_of(src)
    assert meta.png_colour == colour and meta.frames == 3
    out = with_meta(data, meta)
    assert out[33:33 + sum(map(len, colour))] == b"".join(colour)  # right after IHDR, before the pixels
    assert meta_of(out).png_colour == colour and meta_of(out).frames == 1
    assert cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR) is not None
    webp = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8X" + struct.pack("<I", 10) + bytes((0x02,)) + bytes(9)
    assert meta_of(webp).frames == 0  # animated, count not stated


def test_a_tiff_s_pages_are_counted_and_its_reduced_previews_are_not():
    # a multi-page TIFF (a scan, a fax) was sharpened as its first page without a word
    ok, two = cv2.imencodemulti(".tiff", [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 9, np.uint8)])
    assert ok and meta_of(two.tobytes()).frames == 2
    ok, one = cv2.imencode(".tiff", np.zeros((8, 8, 3), np.uint8))
    assert meta_of(one.tobytes()).frames == 1
    # one page and a reduced-size preview (NewSubfileType 1), big-endian, hand-made
    def ifd(kind: int, nxt: int) -> bytes:
        return struct.pack(">HHHII", 1, 0x00FE, 4, 1, kind) + struct.pack(">I", nxt)

    data = b"MM\x00*" + struct.pack(">I", 8) + ifd(0, 26) + ifd(1, 0)
    assert meta_of(data).frames == 1
    looped = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0) + struct.pack("<I", 8)  # its next IFD is itself
    assert meta_of(looped).frames == 1


def _grey_png(pixels: np.ndarray, depth: int, trns: int | None, width: int | None = None, colour: int = 0) -> bytes:
    """A grey PNG written by hand (OpenCV writes no tRNS), rows unfiltered; pixels already packed for depths
    under 8; `colour` 4 with HxWx2 pixels: grey + alpha."""
    from truesight_video.stillmeta import _chunk as chunk

    h, w = pixels.shape[0], width or pixels.shape[1]
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    t = chunk(b"tRNS", struct.pack(">H", trns)) if trns is not None else b""
    return b"\x89PNG\r\n\x1a\n" + head + t + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _grey_alpha_png(grey: np.ndarray, alpha: np.ndarray, depth: int) -> bytes:
    """A grey + alpha PNG (colour type 4) written by hand."""
    return _grey_png(np.stack([grey, alpha], axis=2).astype(">u2" if depth == 16 else np.uint8), depth, None, colour=4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_grey_alpha_png_writer_round_trips_through_opencv(dtype):
    import cv2

    from truesight_video.stillmeta import grey_alpha_png, png_colour_type

    rng = np.random.default_rng(3)
    px = rng.integers(0, np.iinfo(dtype).max + 1, size=(9, 13, 2), dtype=dtype)
    data = grey_alpha_png(px)
    assert png_colour_type(data) == 4
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == dtype and np.array_equal(back[..., 0], px[..., 0]) and np.array_equal(back[..., 3], px[..., 1])


def test_a_grey_pngs_transparent_level_is_read_at_the_depth_opencv_decodes():
    from truesight_video.stillmeta import grey_transparent_level

    grey8 = np.arange(48, dtype=np.uint8).reshape(6, 8)
    assert grey_transparent_level(_grey_png(grey8, 8, 5)) == 5
    assert grey_transparent_level(_grey_png(grey8, 8, None)) is None
    assert grey_transparent_level(_grey_png(grey8.astype(">u2"), 16, 40000)) == 40000
    packed = np.full((6, 2), 0b00011011, np.uint8)  # 2-bit levels 0, 1, 2, 3 across each row of 8
    data = _grey_png(packed, 2, 2, width=8)
    assert grey_transparent_level(data) == 170  # OpenCV scales 2-bit level 2 to 170
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    assert list(decoded[0, :4]) == [0, 85, 170, 255]  # the scaling assumed above
    assert grey_transparent_level(b"\xff\xd8\xff") is None
    other = bytearray(_grey_png(grey8, 8, 5))
    other[25] = 2  # IHDR's colour type: RGB, whose tRNS OpenCV turns into alpha itself
    assert grey_transparent_level(bytes(other)) is None
