"""Everything that touches PyAV: reading a clip and describing it, choosing encoders, writing the
output, and small clips for tests and benchmarks."""
from __future__ import annotations

from .clips import RgbWriter, iter_rgb, iter_rgb_timed, transcode, write_test_clip
from .layout import Layout, OtherStream, VideoInfo
from .reader import Frame, VideoReader, frame_planes, planes_frame, probe
from .writer import VideoWriter

__all__ = ["Frame", "Layout", "OtherStream", "RgbWriter", "VideoInfo", "VideoReader", "VideoWriter", "frame_planes",
           "iter_rgb", "iter_rgb_timed", "planes_frame", "probe", "transcode", "write_test_clip"]
