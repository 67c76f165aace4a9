"""Closed captions carried in the video bitstream (ATSC A/53: H.264/HEVC SEI, MPEG-2 user data)
come through a sharpen with each frame's caption bytes, in display order."""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media_factory import rgb_content
from truesight_video.media.captions import carrier, frame_captions, with_captions
from truesight_video.model import Identity
from truesight_video.pipeline import sharpen_video


def _triplets(i: int) -> bytes:
    """Two CEA-608 field-1 byte pairs told apart by frame (no zero bytes: nothing to escape)."""
    return bytes([0xFC, 0x80 | (i & 0x7F), 0xC1, 0xFC, 0x94, 0x20 + (i % 8)])


def captioned_clip(path: Path, codec: str, frames: int = 12, options: dict | None = None, rate: int = 25) -> Path:
    """A clip whose every frame carries its own caption triplets, put in its packets as a
    broadcaster's encoder puts them (FFmpeg's encoders would take them from frame side data,
    which PyAV cannot attach)."""
    kind = carrier(codec)
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=rate, options=options or {})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames + 1):
            f = None
            if i < frames:
                rgb = (rgb_content(i, 64, 48) * 255).round().astype(np.uint8)
                f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                f.pts, f.time_base = i, Fraction(1, rate)
            for p in vs.encode(f):
                data = with_captions(bytes(p), kind, _triplets(round(p.pts * p.time_base * rate)))
                assert data is not None
                q = av.Packet(data)
                q.pts, q.dts, q.time_base, q.is_keyframe, q.stream = p.pts, p.dts, p.time_base, p.is_keyframe, vs
                c.mux(q)
    return path


def shown_captions(path: Path) -> list[bytes]:
    """Each decoded frame's caption triplets, in display order, as FFmpeg's decoder reports them."""
    with av.open(str(path)) as c:
        return [frame_captions(f) for f in c.decode(video=0)]


@pytest.mark.parametrize("codec,suffix,options", [
    ("libx264", ".mp4", {"bframes": "3"}),  # B-frames: packets come in another order than frames
    ("libx264", ".ts", {}),
    ("mpeg2video", ".ts", {"bf": "2"}),
    ("libx265", ".mkv", {"x265-params": "log-level=error"}),
])
def test_captions_in_the_video_are_carried_frame_by_frame(tmp_path, codec, suffix, options):
    src = captioned_clip(tmp_path / f"in{suffix}", codec, options=options)
    expected = [_triplets(i) for i in range(12)]
    assert shown_captions(src) == expected  # FFmpeg reads the input's captions
    dst = tmp_path / f"out{suffix}"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == {"libx264": "h264", "libx265": "hevc"}.get(codec, codec)
    assert shown_captions(dst) == expected


def test_a_window_carries_its_own_frames_captions(tmp_path):
    src = captioned_clip(tmp_path / "in.mp4", "libx264")
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, start=0.2, duration=0.2)
    assert shown_captions(dst) == [_triplets(i) for i in range(5, 10)]


def test_a_dropped_frames_captions_go_with_the_next_frame(tmp_path):
    # 31 fps into MPEG-2's 30: one frame falls between two ticks and is dropped; its words must not be
    src = captioned_clip(tmp_path / "in.mp4", "libx264", frames=40, rate=31)
    dst = tmp_path / "out.mpg"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, codec="mpeg2video")
    shown = shown_captions(dst)
    assert len(shown) == 39
    assert b"".join(shown) == b"".join(_triplets(i) for i in range(40))


def test_captions_an_encoder_cannot_carry_are_named_in_a_warning(tmp_path, caplog):
    src = captioned_clip(tmp_path / "in.mp4", "libx264")
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING):
        sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, codec="ffv1")
    said = [r.getMessage() for r in caplog.records if "closed captions" in r.getMessage()]
    assert len(said) == 1 and "ffv1" in said[0] and "dropped" in said[0]
    assert not any(shown_captions(dst))


def test_a_clip_without_captions_gets_none(tmp_path):
    from media_factory import make_clip
    src = make_clip(tmp_path / "in.mp4", codec="libx264", audio=0)
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    assert not any(shown_captions(dst))


def test_frames_with_side_data_pyav_does_not_know_are_read(tmp_path):
    # a camera's MJPEG with EXIF in every frame: FFmpeg 8 attaches it as side data type 31, which
    # PyAV 18's list of types lacks (reading the frame's side data raised ValueError)
    ifd = b"\x01\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00" + b"\x00" * 4  # Orientation 1
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + ifd
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    src = tmp_path / "cam.avi"
    with av.open(str(src), "w") as c:
        vs = c.add_stream("mjpeg", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuvj422p"
        for i in range(4):
            f = None
            if i < 3:
                rgb = (rgb_content(i, 64, 48) * 255).round().astype(np.uint8)
                f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj422p")
                f.pts = i
            for p in vs.encode(f):
                q = av.Packet(bytes(p)[:2] + app1 + bytes(p)[2:])
                q.pts, q.dts, q.time_base, q.is_keyframe, q.stream = p.pts, p.dts, p.time_base, True, vs
                c.mux(q)
    with av.open(str(src)) as c, pytest.raises(ValueError):  # what PyAV does with them
        list(next(c.decode(video=0)).side_data)
    stats = sharpen_video(src, tmp_path / "out.avi", model=Identity(), device="cpu", progress=False)
    assert stats.frames == 3
