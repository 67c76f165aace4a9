"""Torch YUV<->RGB against PyAV's own (swscale) conversion, for each matrix, range and bit depth."""
from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from truesight_video.colour import ColourSpec, resolve_spec, rgb_to_yuv, yuv_to_rgb
from truesight_video.media import frame_planes, planes_frame

SWS = {1: "ITU709", 6: "ITU601"}


def _rgb(h=32, w=48):
    rng = np.random.default_rng(0)
    base = rng.integers(20, 235, (h // 2, w // 2, 3)).astype(np.uint8)
    return base.repeat(2, 0).repeat(2, 1)  # flat 2x2 blocks: 4:2:0 chroma loses nothing


@pytest.mark.parametrize("matrix", [1, 6])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("fmt", ["yuv420p", "yuv444p", "yuv420p10le", "yuv422p10le"])
def test_matches_swscale(matrix, full, fmt):
    rgb = _rgb()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    rng_name = "JPEG" if full else "MPEG"
    yuv = frame.reformat(format=fmt, dst_colorspace=SWS[matrix], dst_color_range=rng_name)
    bits = yuv.format.components[0].bits
    spec = ColourSpec(matrix=matrix, full_range=full, bits=bits)
    planes = frame_planes(yuv, fmt)
    y, u, v = (torch.from_numpy(p.astype(np.int32))[None] for p in planes)
    ours = yuv_to_rgb(y, u, v, spec)[0].permute(1, 2, 0).numpy() * 255
    # swscale interpolates subsampled chroma its own way; give it our nearest-upsampled 4:4:4 planes
    # so the comparison isolates matrix, range and bit depth
    full_fmt = "yuv444p" if bits == 8 else "yuv444p10le"
    fy, fx = planes[0].shape[0] // planes[1].shape[0], planes[0].shape[1] // planes[1].shape[1]
    up = (planes[0],) + tuple(p.repeat(fy, 0).repeat(fx, 1) for p in planes[1:])
    theirs = planes_frame(up, full_fmt).reformat(format="rgb24", src_colorspace=SWS[matrix],
                                                 src_color_range=rng_name).to_ndarray()
    assert np.abs(ours - theirs.astype(np.float64)).max() <= 3.0  # swscale's 10-bit path is fixed-point
    subsampled = planes[1].shape != planes[0].shape
    if not subsampled:  # swscale filters chroma when subsampling, so only 4:4:4 maps back exactly
        assert np.abs(ours - rgb).max() <= 2.5
    # forward direction: our RGB->YUV equals swscale's YUV within one code (scaled by bit depth)
    back = rgb_to_yuv(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255, spec, planes[1].shape)
    tol = 1 << (bits - 8)
    for ours_p, theirs_p in zip(back[:1] if subsampled else back, planes):
        assert np.abs(ours_p[0].numpy() - theirs_p.astype(np.int64)).max() <= tol + 1


def test_planes_round_trip_through_videoframe_odd_size():
    rng = np.random.default_rng(1)
    for fmt in ("yuv420p", "yuv420p10le", "yuv444p"):
        f = av.VideoFrame(7, 5, fmt)
        top = (1 << f.format.components[0].bits) - 1
        planes = tuple(rng.integers(0, top, (p.height, p.width)).astype(np.uint8 if top == 255 else np.uint16)
                       for p in f.planes)
        got = frame_planes(planes_frame(planes, fmt), fmt)
        for a, b in zip(planes, got):
            assert np.array_equal(a, b)


def test_untagged_defaults():
    assert resolve_spec(2, 0, 720, 8, "yuv420p") == ColourSpec(1, False, 8)
    assert resolve_spec(2, 0, 576, 8, "yuv420p") == ColourSpec(6, False, 8)
    assert resolve_spec(2, 0, 480, 8, "yuvj420p").full_range
    assert resolve_spec(5, 2, 1080, 10, "yuv420p10le") == ColourSpec(5, True, 10)
