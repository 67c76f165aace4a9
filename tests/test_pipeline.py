"""End-to-end pipeline: identity round trips keep frames, timing, colour, metadata and other streams."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from media_factory import make_clip, packets, psnr, video_frames
from truesight_video.model import Identity, UnsharpMask
from truesight_video.pipeline import sharpen_video

CASES = {
    "mkv-ffv1-vfr-subs": dict(suffix=".mkv", codec="ffv1", vfr=True, subtitles=True, title="VFR clip"),
    "mp4-x264-2audio-rot": dict(suffix=".mp4", codec="libx264", audio=2, rotation=90, title="Phone",
                                options={"qp": "0"}, crf=0),
    "mov-x264-hd709": dict(suffix=".mov", codec="libx264", colorspace=1, options={"qp": "0"}, crf=0),
    "mkv-10bit": dict(suffix=".mkv", codec="ffv1", pix_fmt="yuv420p10le", colorspace=1),
    "mkv-odd-size-full-range": dict(suffix=".mkv", codec="ffv1", size=(67, 45), color_range=2, pix_fmt="yuv420p"),
    "mkv-sd601-444": dict(suffix=".mkv", codec="ffv1", pix_fmt="yuv444p", colorspace=5),
}


def _clip(tmp_path, name, **kw):
    kw = dict(kw)
    suffix = kw.pop("suffix")
    kw.pop("crf", None)
    return make_clip(tmp_path / f"in{suffix}", **kw)


@pytest.mark.parametrize("case", CASES)
def test_identity_round_trip_keeps_everything(tmp_path, case):
    kw = CASES[case]
    src = _clip(tmp_path, case, **kw)
    dst = tmp_path / f"out{kw['suffix']}"
    before = src.read_bytes()
    stats = sharpen_video(src, dst, model=Identity(), device="cpu", batch_size=3, crf=kw.get("crf"),
                          progress=False)
    assert src.read_bytes() == before
    a, b = video_frames(src), video_frames(dst)
    assert stats.frames == len(a) == len(b)
    assert [p for p, _ in a] == [p for p, _ in b]
    for (_, pa), (_, pb) in zip(a, b):
        peak = 1023.0 if pa[0].dtype == np.uint16 else 255.0
        for x, y in zip(pa, pb):
            assert psnr(x, y, peak) >= 45.0
    with av.open(str(src)) as ci, av.open(str(dst)) as co:
        vi, vo = ci.streams.video[0], co.streams.video[0]
        for attr in ("pix_fmt", "colorspace", "color_range", "color_primaries", "color_trc", "width", "height"):
            assert getattr(vo.codec_context, attr) == getattr(vi.codec_context, attr), attr
        assert vo.time_base == vi.time_base
        assert [s.type for s in co.streams] == [s.type for s in ci.streams]
        assert {k: v for k, v in co.metadata.items() if k.lower() == "title"} == \
               {k: v for k, v in ci.metadata.items() if k.lower() == "title"}
        assert [s.metadata.get("language") for s in co.streams.audio] == \
               [s.metadata.get("language") for s in ci.streams.audio]
        fi, fo = next(ci.decode(video=0)), next(co.decode(video=0))
        assert fo.rotation == fi.rotation == kw.get("rotation", 0)
    assert packets(dst, "audio") == packets(src, "audio")
    assert packets(dst, "subtitle") == packets(src, "subtitle")


def test_webm_vp9_keeps_opus_audio_and_timing(tmp_path):
    src = make_clip(tmp_path / "in.webm", codec="libvpx-vp9", audio_codec="libopus", frames=8,
                    options={"lossless": "1"})
    dst = tmp_path / "out.webm"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    a, b = video_frames(src), video_frames(dst)
    assert [p for p, _ in a] == [p for p, _ in b]
    assert min(psnr(x[0], y[0]) for (_, x), (_, y) in zip(a, b)) > 35
    assert packets(dst, "audio") == packets(src, "audio")
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"


def test_real_model_changes_frames_and_batch_size_and_workers_do_not_matter(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=7, size=(48, 32))
    threads = torch.get_num_threads()
    outs = []
    for bs, workers in ((1, 1), (3, 1), (1, 3), (2, 2)):
        dst = tmp_path / f"out{bs}-{workers}.mkv"
        sharpen_video(src, dst, model=UnsharpMask(amount=2.0), device="cpu", batch_size=bs, workers=workers,
                      progress=False)
        assert torch.get_num_threads() == threads  # worker threads give torch its thread count back
        outs.append(video_frames(dst))
    a = video_frames(src)
    assert any(not np.array_equal(x[0], y[0]) for (_, x), (_, y) in zip(a, outs[0]))
    for other in outs[1:]:  # same frames in the same order, however many run at once
        assert [p for p, _ in other] == [p for p, _ in outs[0]]
        for (_, x), (_, y) in zip(outs[0], other):
            for p, q in zip(x, y):
                assert np.array_equal(p, q)


def test_strength_zero_is_identity(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=4)
    dst = tmp_path / "out.mkv"
    sharpen_video(src, dst, model=UnsharpMask(amount=3.0), strength=0.0, device="cpu", progress=False)
    for (_, x), (_, y) in zip(video_frames(src), video_frames(dst)):
        assert psnr(x[0], y[0]) >= 45


@pytest.mark.parametrize("audio", [0, 1])
def test_a_short_duration_does_not_decode_the_rest_of_the_clip(tmp_path, audio):
    # a 0.2 s excerpt of a video-only clip decoded every frame after it (500 here; with audio, 249)
    from truesight_video.media import VideoReader

    src = make_clip(tmp_path / "long.mkv", frames=500, size=(32, 24), audio=audio)
    with VideoReader(src, start=0.0, duration=0.2) as r:
        frames = [f for f in r if not isinstance(f, av.Packet)]
        assert len(frames) == 5 and r.packets < 20, r.packets


def test_start_and_duration_cut_video_and_audio(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=25, rate=25)
    dst = tmp_path / "part.mkv"
    stats = sharpen_video(src, dst, model=Identity(), device="cpu", start=0.4, duration=0.4, progress=False)
    frames = video_frames(dst)
    assert stats.frames == len(frames) == 10
    assert frames[0][0] == 0
    audio = packets(dst, "audio")[0]
    assert audio and all(p is not None and p < 450 for p, _ in audio)


def test_side_by_side_doubles_width_and_keeps_timing_and_audio(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=6, size=(40, 30), vfr=True)
    dst = tmp_path / "sbs.mkv"
    sharpen_video(src, dst, model=UnsharpMask(amount=2.0), device="cpu", side_by_side=True, progress=False)
    a, b = video_frames(src), video_frames(dst)
    assert [p for p, _ in a] == [p for p, _ in b]
    assert b[0][1][0].shape == (30, 80)
    assert np.array_equal(a[2][1][0], b[2][1][0][:, :40])
    assert packets(dst, "audio") == packets(src, "audio")


@pytest.mark.parametrize("rotation,size,pix_fmt", [(90, (40, 30), "yuv444p"), (-90, (40, 30), "yuv444p"),
                                                    (180, (40, 30), "yuv444p"), (180, (41, 30), "yuv420p"),
                                                    (-90, (40, 31), "yuv420p")])
def test_side_by_side_of_a_rotated_clip_shows_side_by_side(tmp_path, rotation, size, pix_fmt):
    # the pair was joined left | right as stored, so a player turning a phone clip showed it stacked
    from truesight_video.media.clips import upright

    src = make_clip(tmp_path / "in.mkv", frames=3, size=size, rotation=rotation, pix_fmt=pix_fmt)
    dst = tmp_path / "sbs.mkv"
    sharpen_video(src, dst, model=UnsharpMask(amount=2.0), device="cpu", side_by_side=True, progress=False)

    def luma_as_shown(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as c:
            rotation = next(c.decode(video=0)).rotation
        return [upright(planes[0], rotation) for _, planes in video_frames(path)]

    before, after = luma_as_shown(src), luma_as_shown(dst)
    h, w = before[0].shape
    step = w + w % 2  # each picture padded to an even size, so no chroma sample mixes the two
    assert after[0].shape == (h, 2 * step)  # as shown: twice as wide, not twice as tall
    x0 = step - w if rotation in (180, -90) else 0  # the turn puts the padding first
    assert all(np.array_equal(a[:, x0:x0 + w], b) for a, b in zip(after, before))  # the original, left, exact
    assert not np.array_equal(after[1][:, step + x0:step + x0 + w], before[1])  # sharpened right


def test_audio_that_container_cannot_hold_is_transcoded(tmp_path, caplog):
    src = make_clip(tmp_path / "in.mkv", frames=5, audio_codec="pcm_s16le")
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", codec="libx264", progress=False)
    with av.open(str(dst)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]


def test_transcoded_audio_keeps_its_start(tmp_path):
    # transcoded audio was numbered from 0: audio that starts 0.4 s after the video came out 0.4 s early
    from fractions import Fraction

    from media_factory import rgb_content

    src = tmp_path / "late.mkv"
    rate = 48000
    with av.open(str(src), "w") as c:
        vs = c.add_stream("ffv1", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i in range(25):
            f = av.VideoFrame.from_ndarray((rgb_content(i, 64, 48) * 255).astype(np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
        samples = np.zeros(int(0.6 * rate), np.int16)
        samples[int(0.4 * rate):int(0.4 * rate) + 48] = 20000  # a click at 0.8 s
        for k in range(0, len(samples), 1024):
            f = av.AudioFrame.from_ndarray(samples[None, k:k + 1024], format="s16", layout="mono")
            f.sample_rate, f.pts, f.time_base = rate, int(0.4 * rate) + k, Fraction(1, rate)
            c.mux(a.encode(f))
        c.mux(a.encode(None))
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", codec="libx264", progress=False)
    with av.open(str(dst)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        frames = list(c.decode(audio=0))
    with av.open(str(dst)) as c:
        video0 = float(next(c.decode(video=0)).time)
    t0 = float(frames[0].pts * frames[0].time_base)
    pcm = np.concatenate([f.to_ndarray()[0] for f in frames])
    click = t0 + int(np.argmax(np.abs(pcm))) / frames[0].sample_rate
    assert abs(click - video0 - 0.8) < 0.01, (click, video0)


def test_pcm_audio_is_copied_into_mov(tmp_path):
    # cameras and editors write PCM in MOV; it was transcoded to AAC (lossy) as if MOV were MP4
    src = make_clip(tmp_path / "in.mkv", frames=5, audio_codec="pcm_s24le")
    dst = tmp_path / "out.mov"
    sharpen_video(src, dst, model=Identity(), device="cpu", codec="libx264", progress=False)
    with av.open(str(dst)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["pcm_s24le"]
    samples = [b"".join(b for _, b in stream) for stream in (packets(dst, "audio")[0], packets(src, "audio")[0])]
    assert samples[0] and samples[0] == samples[1]  # the same samples, bit for bit (the mov demuxer may regroup them)


def test_tiled_pipeline_equals_untiled(tmp_path):
    import torch
    from truesight_video.model import StudentCNN_v3, StudentConfig

    torch.manual_seed(0)
    m = StudentCNN_v3(StudentConfig(width=8, unshuffle=2, dilations=(1, 2, 2, 2, 2, 1)))
    torch.nn.init.normal_(m.tail.weight, std=0.05)
    src = make_clip(tmp_path / "in.mkv", frames=3, size=(96, 80))
    outs = []
    for tile in (None, 48):
        dst = tmp_path / f"o{tile}.mkv"
        sharpen_video(src, dst, model=m, device="cpu", tile=tile, progress=False)
        outs.append(video_frames(dst))
    for (_, a), (_, b) in zip(*outs):
        for p, q in zip(a, b):
            assert np.abs(p.astype(int) - q.astype(int)).max() <= 1


def x264_clip(path, frames, add=None, per_frame=None):
    """A tiny black H.264 clip; add(container) adds other streams (or tags) and returns what
    per_frame(container, added, i) needs to mux their packets beside frame i."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        added = add(c) if add else None
        for i in range(frames):
            f = av.VideoFrame(64, 48, "yuv420p")
            f.pts = i
            c.mux(vs.encode(f))
            if per_frame:
                per_frame(c, added, i)
        c.mux(vs.encode(None))
    return path


def test_quicktime_timecode_track_survives(tmp_path):
    src = x264_clip(tmp_path / "tc.mov", 5, add=lambda c: c.metadata.update(timecode="01:02:03:04"))
    dst = tmp_path / "out.mov"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    with av.open(str(dst)) as c:
        data = [s for s in c.streams if s.type == "data"]
        assert data and data[0].metadata.get("timecode") == "01:02:03:04"
    assert len(video_frames(dst)) == 5


def test_hdr_tags_are_kept(tmp_path, caplog):
    src = make_clip(tmp_path / "hdr.mkv", frames=3, pix_fmt="yuv420p10le", colorspace=9, trc=16)
    dst = tmp_path / "out.mkv"
    with caplog.at_level("WARNING", logger="truesight_video"):
        sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    # FFV1 holds no mastering metadata, so nothing is lost and nothing is said (tests/test_hdr.py: what is)
    assert not any("HDR" in r.message for r in caplog.records)
    with av.open(str(dst)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.color_trc, cc.colorspace, cc.color_primaries, cc.pix_fmt) == (16, 9, 9, "yuv420p10le")


def test_engine_refuses_bad_worker_counts_and_uses_workers_only_for_small_cpu_frames():
    from truesight_video.engine import Sharpener, cpu_workers
    from truesight_video.errors import TruesightError

    cpu = torch.device("cpu")
    assert cpu_workers(cpu, 1280, 720) == min(2, torch.get_num_threads())
    assert cpu_workers(cpu, 1920, 1080) == 1 and cpu_workers(torch.device("cuda"), 640, 360) == 1

    with pytest.raises(TruesightError, match="workers"):
        Sharpener(Identity(), torch.device("cpu"), workers=0)


def test_frames_above_1440p_run_in_tiles_by_default(tmp_path):
    class Recorder(torch.nn.Module):
        r = 4  # receptive-field radius, read by tile_overlap()
        shapes: list = []  # a class attribute: the engine runs its own copy of the model

        def forward(self, x):
            self.shapes.append(tuple(x.shape[-2:]))
            return x

    src = make_clip(tmp_path / "big.mkv", frames=1, size=(2576, 1456), audio=0)
    small = make_clip(tmp_path / "small.mkv", frames=1, size=(320, 240), audio=0)
    for clip, whole in ((src, False), (small, True)):
        m = Recorder()
        m.shapes.clear()
        sharpen_video(clip, tmp_path / f"o-{clip.name}", model=m, device="cpu", precision="fp32", progress=False)
        assert (m.shapes == [(240, 320)]) if whole else (len(m.shapes) > 1 and max(max(s) for s in m.shapes) <= 1024)


def test_gopro_metadata_track_survives_or_is_dropped_with_a_warning(tmp_path, caplog):
    import fractions

    def add(c):
        ds = c.add_data_stream("bin_data")
        ds.codec_tag = "gpmd"
        ds.metadata["handler_name"] = "GoPro MET"
        return ds

    def per_frame(c, ds, i):
        p = av.Packet(b"DEVC\x00\x00\x00\x08" + bytes([i]) * 8)
        p.stream, p.pts, p.dts, p.time_base = ds, i * 40, i * 40, fractions.Fraction(1, 1000)
        c.mux(p)

    src = x264_clip(tmp_path / "GOPR0001.mp4", 6, add=add, per_frame=per_frame)
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    assert packets(dst, "data") == packets(src, "data") and packets(src, "data")[0]
    with av.open(str(dst)) as c:
        assert [s.metadata.get("handler_name") for s in c.streams.data] == ["GoPro MET"]
    assert dst.read_bytes().count(b"gpmd") == src.read_bytes().count(b"gpmd") > 0
    assert len(video_frames(dst)) == 6
    sharpen_video(src, tmp_path / "out.mkv", model=Identity(), device="cpu", progress=False)  # no gpmd in mkv
    assert "data stream 1 (GoPro MET) cannot be stored in matroska; dropped" in caplog.text
    assert len(video_frames(tmp_path / "out.mkv")) == 6


def test_cover_art_is_kept_and_never_sharpened(tmp_path):
    import cv2

    ok, jpg = cv2.imencode(".jpg", np.full((32, 32, 3), 200, np.uint8))

    def add(c):
        cover = c.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        p = av.Packet(jpg.tobytes())
        p.stream, p.pts, p.dts = cover, 0, 0
        c.mux(p)

    src = x264_clip(tmp_path / "song.mp4", 5, add=add)
    dst = tmp_path / "out.mp4"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)

    def covers(path):
        with av.open(str(path)) as c:
            s = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
            return [bytes(p) for p in c.demux(*s) if p.size]

    assert covers(dst) == covers(src) == [jpg.tobytes()]
    assert len(video_frames(dst)) == 5


def test_auto_tile_runs_whole_4k_frames_on_a_gpu_with_room_and_tiles_elsewhere():
    # On an H200 tiles of 1024 made 4K 2.7x slower (3.7 vs 9.9 fps) though whole frames fit easily.
    from truesight_video.pipeline import AUTO_TILE, auto_tile

    gib = 1024**3
    assert auto_tile("cuda", 3840, 2160, 8, free_bytes=139 * gib) is None
    assert auto_tile("cuda", 3840, 2160, 8, free_bytes=8 * gib) == AUTO_TILE  # ~20 GB would not fit
    assert auto_tile("cuda", 3840, 2160, 1, free_bytes=8 * gib) is None
    assert auto_tile("cpu", 3840, 2160, 1) == AUTO_TILE  # on a CPU tiles halve memory at equal speed
    assert auto_tile("cpu", 1920, 1080, 1) is None
    assert auto_tile("cuda", 1920, 1080, 8, free_bytes=1 * gib) is None  # up to 1440p never tiled


def _rgb_clip(path, codec: str, pix_fmt: str, size=(64, 48), frames=2):
    from fractions import Fraction

    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = (200, 60, 30)
    rgb[:, w // 2:] = (20, 180, 240)
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=25)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            f.pts, f.time_base = i, Fraction(1, 25)
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
    return path, rgb


@pytest.mark.parametrize("codec,pix_fmt,suffix,size,encoder", [
    ("png", "rgb24", ".mov", (64, 48), None), ("png", "rgb24", ".mov", (1280, 720), None),
    ("ffv1", "bgr0", ".mkv", (64, 48), None), ("png", "rgb24", ".mp4", (64, 48), "libx264")])
def test_clips_stored_as_rgb_keep_their_colours(tmp_path, codec, pix_fmt, suffix, size, encoder):
    # PNG/QuickTime RLE/FFV1-RGB clips (screen recordings, edit intermediates) came out with their
    # colours shifted: made YUV with swscale's BT.601 limited, decoded as BT.709 full, made RGB again as
    # limited; as H.264 the RGB tag was copied, so players read the YUV as GBR ((200,60,30) -> (200,98,89))
    src, rgb = _rgb_clip(tmp_path / f"in{suffix}", codec, pix_fmt, size)
    dst = tmp_path / f"out{suffix}"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False, **({"codec": encoder} if encoder else {}))
    with av.open(str(dst)) as c:
        f = next(c.decode(video=0))
        out = f.to_ndarray(format="rgb24")
    assert np.abs(out.astype(int) - rgb).max() <= 2, (out[0, 0], out[0, -1])


def test_an_alpha_channel_that_is_dropped_is_said(tmp_path, caplog):
    # transparency was lost without a word (the output written opaque)
    src, _ = _rgb_clip(tmp_path / "in.mov", "png", "rgba")
    with caplog.at_level("WARNING", logger="truesight_video"):
        sharpen_video(src, tmp_path / "out.mov", model=Identity(), device="cpu", progress=False)
    assert any("alpha channel" in r.getMessage() and "opaque" in r.getMessage() for r in caplog.records)


def test_vp9_alpha_in_webm_is_said_and_not_claimed(tmp_path, caplog):
    # FFmpeg's vp9 decoder reports yuv420p for VP9 with alpha, so the loss went unsaid, and the output kept
    # the ALPHA_MODE tag that tells players to look for alpha it no longer holds
    from fractions import Fraction

    from media_factory import rgb_content

    src = tmp_path / "logo.webm"
    with av.open(str(src), "w") as c:
        vs = c.add_stream("libvpx-vp9", rate=25, options={"deadline": "realtime", "cpu-used": "8"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuva420p"
        for i in range(5):
            rgba = np.concatenate([(rgb_content(i, 64, 48) * 255).astype(np.uint8), np.full((48, 64, 1), 99, np.uint8)], 2)
            f = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuva420p")
            f.pts, f.time_base = i, Fraction(1, 25)
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
    with av.open(str(src)) as c:
        assert c.streams.video[0].metadata.get("alpha_mode") == "1"  # what the test is about
    with caplog.at_level("WARNING", logger="truesight_video"):
        sharpen_video(src, tmp_path / "out.webm", model=Identity(), device="cpu", progress=False)
    assert any("alpha channel" in r.getMessage() for r in caplog.records)
    with av.open(str(tmp_path / "out.webm")) as c:
        assert "alpha_mode" not in {k.lower() for k in c.streams.video[0].metadata}


def test_levels_outside_the_nominal_range_survive(tmp_path):
    # the RGB step clamps: super-whites (Y 236-254) and below-blacks (Y 1-15) of limited-range video came
    # out at 235 / 16 even where the model changed nothing
    from truesight_video.colour import ColourSpec
    from truesight_video.engine import Sharpener

    y = np.tile(np.linspace(1, 254, 48).round().astype(np.uint8), (32, 1))
    u = np.full((16, 24), 128, np.uint8)
    v = np.full((16, 24), 128, np.uint8)
    spec = ColourSpec(matrix=1, full_range=False, bits=8)
    for strength in (0.0, 1.0):
        out = Sharpener(Identity(), torch.device("cpu"), strength=strength).submit([(y, u, v)], spec).result()[0]
        assert np.array_equal(np.asarray(out[0]), y) and np.array_equal(np.asarray(out[1]), u)
    side = Sharpener(Identity(), torch.device("cpu")).submit([(y, u, v)], spec, side_by_side=True).result()[0]
    assert np.array_equal(np.asarray(side[0]), np.concatenate([y, y], axis=1))
    sharp = Sharpener(UnsharpMask(amount=1.0), torch.device("cpu")).submit([(y, u, v)], spec).result()[0]
    assert np.asarray(sharp[0]).max() > 235 and np.asarray(sharp[0]).min() < 16


def test_ffmpeg_failing_mid_run_is_one_line_naming_the_container(tmp_path, monkeypatch):
    # a muxer's refusal mid-run (MXF's "patches welcome" after frame 128) read "failed while processing
    # long.mp4: PatchWelcomeError: [Errno 1163346256] ...: '.long.77ebc928.part.mxf'", naming a file nobody made
    from click.testing import CliRunner

    from truesight_video.cli import main
    from truesight_video.media import writer

    def refuse(self, packet):
        raise av.PatchWelcomeError(1163346256, "Not yet implemented in FFmpeg, patches welcome", ".x.1234.part.mkv")

    monkeypatch.setattr(writer.VideoWriter, "_mux_other", refuse)
    src = make_clip(tmp_path / "in.mkv", frames=3)
    r = CliRunner().invoke(main, ["sharpen", str(src), "-o", str(tmp_path / "out.mkv"), "--device", "cpu", "-q",
                                  "--model", "unsharp-placeholder"])
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: FFmpeg failed writing the matroska output: Not yet implemented in FFmpeg, patches welcome"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_an_mts_output_is_bdav_like_a_camcorders(tmp_path):
    # AVCHD camcorders write .MTS with 192-byte packets (a 4-byte arrival stamp before each 0x47 sync byte)
    src = make_clip(tmp_path / "in.mkv", frames=3, audio=0)
    dst = tmp_path / "out.mts"
    sharpen_video(src, dst, model=Identity(), device="cpu", progress=False)
    data = dst.read_bytes()
    assert len(data) % 192 == 0 and data[4] == data[196] == 0x47
    assert len(video_frames(dst)) == 3
