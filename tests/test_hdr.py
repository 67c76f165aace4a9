"""HDR10 static metadata (mastering display, content light levels) goes into HEVC and AV1 outputs;
where the encoder cannot write it, or the input has per-frame HDR metadata, a warning says so."""
from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from media_factory import rgb_content
from truesight_video.media.sidedata import hdr_metadata, side_data
from truesight_video.model import Identity
from truesight_video.pipeline import sharpen_video

PQ_PARAMS = ("master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):"
             "max-cll=1000,400:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc")


def pq_clip(path: Path, params: str = PQ_PARAMS) -> Path:
    """A 10-bit HEVC PQ clip whose stream states the mastering display and light levels, as HDR10 does."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx265", rate=25, options={"x265-params": "log-level=error:" + params})
        vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p10le"
        cc = vs.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace = 9, 16, 9
        for i in range(4):
            rgb = (rgb_content(i, 64, 64) * 255).round().astype(np.uint8)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p10le")
            f.pts = i
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
    return path


def first_frame_hdr(path: Path):
    with av.open(str(path)) as c:
        return hdr_metadata(side_data(next(c.decode(video=0))))


def _hdr_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "HDR input" in r.getMessage()]


def test_hdr10_metadata_is_kept_into_hevc(tmp_path, caplog):
    src = pq_clip(tmp_path / "in.mkv")
    stated = first_frame_hdr(src)
    assert stated is not None and stated.max_cll == 1000 and stated.max_fall == 400
    assert stated.luminance == (1000, pytest.approx(0.005))
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING):
        sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    assert first_frame_hdr(dst) == stated
    assert not _hdr_warnings(caplog)


def test_hdr10_metadata_is_kept_into_av1(tmp_path):
    src = pq_clip(tmp_path / "in.mkv")
    stated = first_frame_hdr(src)
    dst = tmp_path / "out.mkv"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, codec="libsvtav1")
    got = first_frame_hdr(dst)
    assert got is not None and (got.max_cll, got.max_fall) == (1000, 400)
    # AV1 stores chromaticities in 1/65536 and luminance in fixed point: equal to their precision
    chroma = [float(v) for v in stated.primaries + stated.white]
    assert [float(v) for v in got.primaries + got.white] == pytest.approx(chroma, abs=2e-5)
    assert [float(v) for v in got.luminance] == pytest.approx([float(v) for v in stated.luminance], rel=1e-3)


def test_an_encoder_that_cannot_write_hdr10_metadata_says_so(tmp_path, caplog):
    src = pq_clip(tmp_path / "in.mkv")
    dst = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING):
        sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, codec="libvpx-vp9")
    said = _hdr_warnings(caplog)
    assert len(said) == 1 and "mastering display and its light levels are not carried into libvpx-vp9" in said[0]
    assert first_frame_hdr(dst) is None


def test_hdr_without_metadata_gets_no_warning(tmp_path, caplog):
    # an HLG phone clip states no mastering display: there is nothing to lose (a warning said there was)
    src = pq_clip(tmp_path / "in.mkv", params="colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc")
    assert first_frame_hdr(src) is None
    with caplog.at_level(logging.WARNING):
        sharpen_video(src, tmp_path / "out.mkv", model=Identity(), device="cpu", progress=False)
    assert not _hdr_warnings(caplog)


def test_half_a_mastering_display_is_named_as_lost():
    # Matroska may state the primaries or the luminance alone; x265 and SVT-AV1 take only both
    from fractions import Fraction as F

    from truesight_video.media.encoders import _hdr_params, hdr_lost
    from truesight_video.media.layout import HdrMetadata
    primaries = tuple(F(v, 50000) for v in (34000, 16000, 13250, 34500, 7500, 3000))
    half = HdrMetadata(primaries=primaries, white=(F(15635, 50000), F(16450, 50000)), max_cll=1000, max_fall=400)
    assert _hdr_params(half, "x265") == ["max-cll=1000,400"]
    assert hdr_lost(half, "libx265") == ["its mastering display (its luminance unstated)"]
    assert hdr_lost(half, "libx264") == ["its mastering display (its luminance unstated)", "its light levels"]
    whole = HdrMetadata(primaries=half.primaries, white=half.white, luminance=(F(1000), F(1, 200)))
    assert hdr_lost(whole, "libsvtav1") == [] and hdr_lost(whole, "libvpx-vp9") == ["its mastering display"]


def test_light_levels_past_16_bits_are_clamped_not_wrapped():
    from truesight_video.media.encoders import _hdr_params
    from truesight_video.media.layout import HdrMetadata
    assert _hdr_params(HdrMetadata(max_cll=70000, max_fall=400), "x265") == ["max-cll=65535,400"]
    assert _hdr_params(HdrMetadata(max_cll=70000, max_fall=400), "svtav1") == ["content-light=65535,400"]
