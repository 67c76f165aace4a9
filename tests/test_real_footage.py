"""Files of the kinds real devices write come out whole: the frames a player shows with their times,
every other stream kept (or named when dropped), colour, range, depth and rotation unchanged. Real
camera clips from ../shared/realmedia when present; small files of each failing kind always."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

import real_kinds as kinds
from footage_check import audio_lag, check_whole, colour_shift
from media_factory import packets as stream_packets
from media_factory import video_frames
from truesight_video.cli import main

LOUD = ["--device", "cpu", "--model", "unsharp-placeholder"]  # warnings on stderr
FAST = [*LOUD, "-q"]


def sharpen(src: Path, dst: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, in its own process (so its warnings are on stderr)."""
    return subprocess.run([sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), "-o", str(dst), "-y",
                           *args], capture_output=True, text=True)


def whole(src: Path, dst: Path, *args: str) -> list[str]:
    """Sharpen at strength 0 and list what the output lost against the input."""
    r = sharpen(src, dst, *FAST, "--strength", "0", *args)
    assert r.returncode == 0, r.stderr
    return check_whole(src, dst, strength_zero=True)


def _shown(path: Path) -> tuple[list[float], Fraction, Fraction]:
    """The video's frame times in seconds as FFmpeg decodes them, its time base and its average rate."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [float(f.time) for f in c.decode(v)], v.time_base, v.average_rate


# ---- small files of each kind that failed on real footage (run everywhere, CI included)

def test_edit_list_hides_frames_and_they_stay_hidden(tmp_path):
    src = kinds.edit_list_mp4(tmp_path / "phone.mp4", hidden=9, frames=30)
    with av.open(str(src)) as c:
        assert c.streams.video[0].frames == 30  # the sample table lists all of them
    assert whole(src, tmp_path / "out.mp4") == []
    assert len(video_frames(tmp_path / "out.mp4")) == 21


def test_iphone_like_hevc10_hlg_with_edit_list(tmp_path):
    src = kinds.edit_list_mp4(tmp_path / "iphone.mp4", codec="libx265", ten_bit=True, hlg=True)
    assert whole(src, tmp_path / "out.mp4") == []
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].codec_context.codec_tag == "hvc1"  # what Apple players need


def test_h264_in_webm_gets_an_encoder_webm_holds_and_says_so(tmp_path):
    src = kinds.h264_in_webm(tmp_path / "cam.webm")
    r = sharpen(src, tmp_path / "out.webm", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(said) == 1 and "libvpx-vp9" in said[0] and "webm" in said[0], r.stderr
    assert check_whole(src, tmp_path / "out.webm", strength_zero=True) == []


def test_explicit_codec_the_container_cannot_hold_is_a_clear_error(tmp_path):
    src = kinds.h264_in_webm(tmp_path / "cam.webm", frames=5)
    r = sharpen(src, tmp_path / "out.webm", *FAST, "--codec", "libx264")
    assert r.returncode == 1 and r.stderr.strip().startswith("error: --codec libx264 cannot be written into webm")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.webm").exists()


def test_mpeg2_ts_starting_mid_gop(tmp_path):
    src = kinds.mpeg2_ts_mid_gop(tmp_path / "dvb.ts")
    assert whole(src, tmp_path / "out.ts") == []


@pytest.mark.parametrize("ext", [".ts", ".mpg", ".mkv"])
def test_mpeg2_off_its_frame_grid_stays_in_sync_with_its_audio(tmp_path, ext):
    # MPEG-2 is encoded counting whole frames: rounded to that grid, the real DVB capture's video moved
    # 9.5 ms against its copied audio (up to half a frame, 20 ms at 25 fps)
    # (no gap at its end: MPEG-PS stamps only some frames, so a player's .mpg plays a gap's far side early)
    src = kinds.mpeg2_ts_mid_gop(tmp_path / "dvb.ts", size=(96, 64), video_offset=Fraction(-19, 2000), tail_cut=False)
    assert whole(src, tmp_path / f"out{ext}") == []


def test_a_window_of_a_broadcast_capture_counts_from_its_start(tmp_path):
    src = kinds.mpeg2_ts_mid_gop(tmp_path / "dvb.ts", frames=60)  # its clock starts near 19208 s
    r = sharpen(src, tmp_path / "part.ts", *FAST, "--start", "1", "--duration", "0.8", "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert check_whole(src, tmp_path / "part.ts", strength_zero=True, start=1.0, duration=0.8) == []
    assert 15 <= len(video_frames(tmp_path / "part.ts")) <= 21


def test_a_window_keeps_a_packet_written_after_later_ones(tmp_path):
    # the small-file twin of the real GoPro's telemetry case below: the subtitle at 1.0 s lies in the file
    # after audio and video up to 3 s, and a window of 0.5-1.5 s stopped reading at the first audio packet
    # past its end
    src = kinds.late_track_mkv(tmp_path / "late.mkv")
    order = [(kind, pts) for _, kind, _, _, pts in kinds._demux_summary(src)]
    later = min(i for i, (kind, pts) in enumerate(order) if kind == "audio" and pts >= 2000)  # Matroska counts ms
    assert order.index(("subtitle", 1000)) > later  # the subtitle lies after the audio of 2 s on
    r = sharpen(src, tmp_path / "part.mkv", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    (sub,) = stream_packets(tmp_path / "part.mkv", "subtitle")
    first_frame = video_frames(tmp_path / "part.mkv")[0][0]
    assert [(pts - first_frame, data) for pts, data in sub] == [(480, b"inside the window")]  # 1 s - 0.52 s (ms)


@pytest.mark.parametrize("start", [0.5, 1.5])
def test_a_window_inside_the_first_gop_of_a_ts(tmp_path, start):
    # "no decodable video frames after --start": a seek to the clip's start time landed, by bytes, past
    # the first keyframe (B-frames put the first DTS before it)
    src = kinds.ts_with_b_frames(tmp_path / "cam.mts")
    r = sharpen(src, tmp_path / "part.ts", *FAST, "--start", str(start), "--duration", "0.4", "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert check_whole(src, tmp_path / "part.ts", strength_zero=True, start=start, duration=0.4) == []
    assert len(video_frames(tmp_path / "part.ts")) == 10


def test_a_window_before_the_first_frame_of_an_avi(tmp_path):
    # AVI refuses a seek before its start, where the TS fix above seeks when the first frame shown (0.04 s
    # here: packed B-frames) lies past --start: it falls back to the start
    src = kinds.xvid_avi_bframes(tmp_path / "old.avi")
    r = sharpen(src, tmp_path / "part.avi", *FAST, "--start", "0.02", "--duration", "0.4", "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert len(video_frames(tmp_path / "part.avi")) == 10


def test_a_window_before_the_first_frame_says_where_the_video_starts(tmp_path):
    # a capture whose picture starts 0.8 s after its sound: "no decodable video frames" did not say that
    # the window (0-0.5 s) was the problem
    from fractions import Fraction

    src = tmp_path / "late.mkv"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libx264", (64, 48), 25, {"preset": "ultrafast"})
        a = c.add_stream("aac", rate=48000, layout="stereo")
        video = kinds._shift(kinds._encode(vs, kinds._pictures(range(10), 64, 48, Fraction(1, 25))), Fraction(4, 5))
        for p in sorted(video + kinds._encode(a, kinds._tone(a, 1.2)), key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    r = sharpen(src, tmp_path / "out.mkv", *FAST, "--duration", "0.5")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "between 0s and 0.5s" in r.stderr and "shows at 0.800s" in r.stderr, r.stderr
    assert not (tmp_path / "out.mkv").exists()


def test_mxf_keeps_every_frame_in_order_and_the_sound(tmp_path):
    # into .mxf: x264's 250-frame GOP failed mid-run ("patches welcome", frame offset -129), its B-frames came
    # back with decode-order times (0, 2, 1, 3, ...), and the audio was dropped (the trial had no video stream,
    # which MXF needs first, and MXF takes 48 kHz PCM only)
    src = kinds.long_gop_mp4(tmp_path / "cam.mp4")
    r = sharpen(src, tmp_path / "out.mxf", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "dropped" not in r.stderr and "transcoding to pcm_s16le at 48000 Hz (from 44100)" in r.stderr, r.stderr
    with av.open(str(tmp_path / "out.mxf")) as c:
        assert [(s.type, s.codec_context.name) for s in c.streams] == [("video", "h264"), ("audio", "pcm_s16le")]
        assert c.streams.audio[0].codec_context.sample_rate == 48000
    benign = ("video: disposition", "video: time base", "video: stream handler_name")  # MXF stores none of these
    problems = [p for p in check_whole(src, tmp_path / "out.mxf", strength_zero=True)
                if not p.startswith(benign) and "transcoded from aac to pcm_s16le" not in p]
    assert problems == []
    assert len(video_frames(tmp_path / "out.mxf")) == 140


@pytest.mark.parametrize("rate,frames,written,std", [(Fraction(90000, 3001), 60, 60, "29.970"),
                                                     (Fraction(21, 2), 21, 48, "23.976"), (Fraction(31), 62, 60, "30.000")])
def test_mxf_counts_frames_at_a_standard_rate_and_keeps_the_clock(tmp_path, rate, frames, written, std):
    # a phone's 29.99 fps (90000/3001) or 10.5 fps low-light clip into .mxf: "no encoder can write this video into
    # mxf (libx264: Invalid argument: '<none>' returned 22; ...)"; written a frame a tick at the nearest standard
    # rate instead, 2 s of 10.5 fps would have lasted 0.9 s beside 2 s of sound
    src = tmp_path / "phone.mp4"
    tb = Fraction(1, 90000)
    with av.open(str(src), "w") as c:
        vs = c.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.time_base = vs.codec_context.time_base = tb
        a = c.add_stream("aac", rate=48000, layout="stereo")
        video = kinds._encode(vs, kinds._pictures([round(k / rate / tb) for k in range(frames)], 64, 48, tb))
        for p in sorted(video + kinds._encode(a, kinds._tone(a, 2.0)), key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    r = sharpen(src, tmp_path / "out.mxf", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert (f"is written at {std} fps" in r.stderr) == (rate != Fraction(90000, 3001)), r.stderr
    n = len(video_frames(tmp_path / "out.mxf"))
    with av.open(str(tmp_path / "out.mxf")) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert abs(n - written) <= 1 and abs(samples / 48000 - n / float(Fraction(std))) < 0.05, (n, samples)


def test_frames_between_two_ticks_of_mpeg2s_grid_are_dropped_not_pushed_late(tmp_path):
    # a 31 fps clip into MPEG-2 (30 fps, the nearest rate it takes): every frame that shared a tick with the one
    # before was pushed one tick on, and the picture fell 0.13 s behind its sound in 4 s; now a frame is pushed
    # only while that keeps it within a tick of its time
    src = kinds._h264_aac(tmp_path / "fast.mkv", "matroska", 124, (64, 48), {"preset": "ultrafast"}, rate=31)
    r = sharpen(src, tmp_path / "out.ts", *LOUD, "--strength", "0", "--codec", "mpeg2video")
    assert r.returncode == 0, r.stderr
    assert "3 frames fell between two ticks of mpeg2video's 30.000 fps" in r.stderr, r.stderr
    with av.open(str(tmp_path / "out.ts")) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    assert len(times) == 121 and abs(times[-1] - times[0] - 123 / 31) <= 1 / 30 + 0.001  # the last frame's time


def test_mxf_sound_starts_with_the_picture(tmp_path):
    # MXF keeps no start times: a capture whose sound began 0.8 s before its first decodable frame played
    # its sound 0.8 s early (the muxer then cuts the end to the picture's length)
    src = tmp_path / "cap.mkv"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libx264", (64, 48), 25, {"preset": "ultrafast"})
        a = c.add_stream("aac", rate=48000, layout="stereo")
        video = kinds._shift(kinds._encode(vs, kinds._pictures(range(50), 64, 48, Fraction(1, 25))), Fraction(1, 2))
        tone = list(kinds._tone(a, 2.5))
        for f in tone[: 24000 // 1024]:  # silence before the picture, the tone under it
            for plane in f.planes:
                np.frombuffer(plane, np.uint8)[:] = 0
        for p in sorted(video + kinds._encode(a, iter(tone)), key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    r = sharpen(src, tmp_path / "out.mxf", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.mxf")) as c:
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]).astype(float)
    assert np.abs(sound[:9600]).mean() > 1000  # the tone from the first frame on, not 0.5 s of silence


def _samples(path: Path) -> np.ndarray:
    """Every sample of the first audio stream, channels interleaved."""
    with av.open(str(path)) as c:
        frames = [f.to_ndarray() for f in c.decode(audio=0)]
    return np.concatenate([x.T.reshape(-1) if x.shape[0] > 1 else x.reshape(-1) for x in frames])


@pytest.mark.parametrize("fmt, codec, sample_fmt, kept", [("mov", "pcm_s24le", None, "pcm_s24le"),
                                                          ("matroska", "flac", "s32", "pcm_s24le"),
                                                          ("mov", "alac", "s32p", "pcm_s24le"),
                                                          ("mov", "pcm_s16le", None, "pcm_s16le")])
def test_24_bit_sound_into_mxf_keeps_its_24_bits(tmp_path, fmt, codec, sample_fmt, kept):
    # MXF takes PCM alone, which was always written at 16 bits: a camera's 24-bit sound lost its low byte
    src = kinds.sound_clip(tmp_path / f"cam.{'mkv' if fmt == 'matroska' else fmt}", fmt, codec, sample_fmt=sample_fmt)
    r = sharpen(src, tmp_path / "out.mxf", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert f"transcoding to {kept}" in r.stderr, r.stderr
    a, b = _samples(src), _samples(tmp_path / "out.mxf")
    assert len(b) >= 0.9 * len(a) and np.array_equal(a[: len(b)], b[: len(a)])  # every bit
    assert b.dtype == (np.int32 if kept == "pcm_s24le" else np.int16)


@pytest.mark.parametrize("fmt, ext, vcodec, acodec, rate, layout, out", [
    ("matroska", "mkv", "libx264", "pcm_s16le", 44100, "stereo", ".flv"),  # FFmpeg's flv muxer aborted the process
    ("avi", "avi", "mpeg4", "pcm_u8", 11025, "mono", ".flv"),
    ("asf", "asf", "wmv2", "wmav2", 44100, "stereo", ".nut"),  # copied into NUT, which loses what WMA needs to open
    ("avi", "avi", "mpeg4", "adpcm_ima_wav", 22050, "mono", ".nut"),
    ("avi", "avi", "mpeg4", "g726", 8000, "mono", ".nut"),  # and G.726's bits per sample
])
def test_sound_a_container_would_crash_on_or_lose_is_transcoded(tmp_path, fmt, ext, vcodec, acodec, rate, layout,
                                                                out):
    src = kinds.sound_clip(tmp_path / f"in.{ext}", fmt, acodec, vcodec=vcodec, rate=rate, layout=layout, sweep=0.0,
                           bit_rate=128000 if acodec == "wmav2" else 32000 if acodec == "g726" else None)
    r = sharpen(src, tmp_path / f"out{out}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "transcoding to" in r.stderr, r.stderr
    with av.open(str(tmp_path / f"out{out}")) as c:
        assert sum(f.samples for f in c.decode(audio=0)) >= 0.9 * rate


def test_sound_no_decoder_reads_is_dropped_with_a_word_not_a_traceback(tmp_path):
    # an audio codec FFmpeg does not know (AC-4, MPEG-H, here a Matroska codec ID made up) has no decoder
    # context: writing .mp4 or .flv ended in "error: AttributeError"
    data = kinds._h264_aac(tmp_path / "ok.mkv", "matroska", 25, (64, 48), {"preset": "ultrafast"}).read_bytes()
    assert data.count(b"A_AAC") == 1
    (tmp_path / "odd.mkv").write_bytes(data.replace(b"A_AAC", b"A_XYZ"))
    for ext in (".mp4", ".flv", ".avi"):
        r = sharpen(tmp_path / "odd.mkv", tmp_path / f"out{ext}", *LOUD, "--strength", "0")
        assert r.returncode == 0, r.stderr
        assert f"audio stream 1 (?) cannot be stored in {ext[1:]}; dropped" in r.stderr, r.stderr


def test_blu_ray_pcm_is_copied_into_m2ts_or_mts_and_transcoded_into_ts(tmp_path):
    # MPEG-TS marks Blu-ray's PCM as sound only in its Blu-ray mode (a .m2ts name); into .ts it is data
    src = kinds.sound_clip(tmp_path / "disc.m2ts", "mpegts", "pcm_bluray")
    for name in ("out.m2ts", "out.mts"):  # .mts: AVCHD's name for the same
        r = sharpen(src, tmp_path / name, *LOUD, "--strength", "0")
        assert r.returncode == 0 and "transcoding" not in r.stderr, r.stderr
        assert stream_packets(src, "audio") and stream_packets(tmp_path / name, "audio")
        with av.open(str(tmp_path / name)) as c:
            assert [s.codec_context.name for s in c.streams.audio] == ["pcm_bluray"]
    r = sharpen(src, tmp_path / "out.ts", *LOUD, "--strength", "0")
    assert r.returncode == 0 and "cannot be copied into mpegts; transcoding to aac" in r.stderr, r.stderr


@pytest.mark.parametrize("fmt, codec", [("mov", "pcm_s16le"), ("mov", "pcm_s24le"), ("matroska", "flac")])
def test_pcm_or_flac_into_ts_is_transcoded_not_lost(tmp_path, fmt, codec):
    # FFmpeg's MPEG-TS muxer took them and wrote private data that reads back as a data stream: silent output
    src = kinds.sound_clip(tmp_path / f"cam.{'mkv' if fmt == 'matroska' else fmt}", fmt, codec)
    r = sharpen(src, tmp_path / "out.ts", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "cannot be copied into mpegts; transcoding to aac" in r.stderr, r.stderr
    with av.open(str(tmp_path / "out.ts")) as c:
        assert [(s.type, s.codec_context.name) for s in c.streams] == [("video", "h264"), ("audio", "aac")]
        assert sum(f.samples for f in c.decode(audio=0)) >= 0.9 * 48000


def test_xvid_avi_with_b_frames(tmp_path):
    src = kinds.xvid_avi_bframes(tmp_path / "old.avi")
    assert whole(src, tmp_path / "out.avi") == []


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_h264_avi_with_b_frames_keeps_its_frame_times(tmp_path, suffix):
    # AVI stores decode order only: FFmpeg gives an H.264 stream with B-frames its packets' times (decode
    # slots), which the frames then carry out of order; forced to rise one by one they left gaps: 10 frames
    # came out spanning 14 slots, frames held at the wrong moments and the picture outlasting its sound
    from media_factory import make_clip

    src = make_clip(tmp_path / "cam.avi", codec="libx264", audio_codec="mp3", frames=10)
    with av.open(str(src)) as c:
        assert c.streams.video[0].codec_context.has_b_frames
    r = sharpen(src, tmp_path / f"out{suffix}", *FAST)
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        v = c.streams.video[0]
        slots = sorted(p.pts if suffix == ".mp4" else p.dts for p in c.demux(v) if p.size)
    step = round(1 / (25 * v.time_base))
    assert slots == [slots[0] + k * step for k in range(10)], slots
    if suffix == ".avi":
        assert whole(src, tmp_path / "whole.avi") == []


@pytest.mark.parametrize("bf", [0, 2])
def test_an_avi_cut_before_a_keyframe_keeps_its_frame_times(tmp_path, bf):
    # packets before the first keyframe decode to nothing: their slots must not pass to the frames after
    from truesight_video.media.reader import Frame, VideoReader

    whole_clip, cut = tmp_path / "whole.avi", tmp_path / "cut.avi"
    with av.open(str(whole_clip), "w") as c:
        vs = c.add_stream("libx264", rate=25, options={"bf": str(bf), "g": "5", "sc_threshold": "0",
                                                     "preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for p in kinds._encode(vs, kinds._pictures(range(15), 64, 48, Fraction(1, 25))):
            c.mux(p)
    with av.open(str(whole_clip)) as i, av.open(str(cut), "w") as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for k, p in enumerate(q for q in i.demux(video=0) if q.size):
            if k >= 2:  # a capture that begins two frames into a group: three packets without a keyframe
                p.stream, p.pts, p.dts = s, p.pts - 2, p.dts - 2
                o.mux(p)
    expected = sorted(_shown(cut)[0])  # FFmpeg's own times, in order
    with VideoReader(cut) as r:
        got = [x.time + r.origin for x in r if isinstance(x, Frame)]
    assert len(got) == 10 and got == pytest.approx(expected, abs=1e-6), (got, expected)


def test_avi_with_dropped_frames_is_not_truncated(tmp_path):
    # the 0-byte chunk of a dropped frame was not counted, so the file was refused as truncated
    src = kinds.avi_with_dropped_frames(tmp_path / "capture.avi", dropped=(10, 11))
    assert whole(src, tmp_path / "out.avi") == []
    assert len(video_frames(tmp_path / "out.avi")) == 23
    data = src.read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])  # a capture cut short still is refused
    r = sharpen(tmp_path / "cut.avi", tmp_path / "cut.out.avi", *FAST)
    assert r.returncode == 1 and "truncated input" in r.stderr


@pytest.mark.parametrize("start, audio_extra", [(0.0, 2.0), (30.0, 0.0), (30.0, 2.0)])
def test_whole_matroska_with_late_timestamps_or_longer_audio_is_not_truncated(tmp_path, start, audio_extra):
    # refused as "truncated input": Matroska's duration is where its last packet ends (the audio's, or
    # 30 s on for a cut that kept its timestamps), and the video's last frame was measured against it
    src = kinds.mkv_offset_long_audio(tmp_path / "rec.mkv", start=start, audio_extra=audio_extra)
    assert whole(src, tmp_path / "out.mkv") == []
    assert len(video_frames(tmp_path / "out.mkv")) == 20
    r = sharpen(src, tmp_path / "late.mkv", *FAST, "--start", "5")  # its length is 0.8 s, not 30.8
    assert r.returncode == 1 and "past the end" in r.stderr, r.stderr
    data = src.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[:len(data) // 2])  # cut short, every stream stops early
    if audio_extra:
        r = sharpen(tmp_path / "cut.mkv", tmp_path / "cut.out.mkv", *FAST)
        assert r.returncode == 1 and "truncated input" in r.stderr, r.stderr


def test_av1_stays_av1(tmp_path):
    # AV1 is decoded by libdav1d, and the decoder's name was taken for the codec's: the output fell back to
    # H.264 with a warning that there was "no libdav1d encoder"
    from fractions import Fraction

    from truesight_video.media.encoders import encoder_exists

    if not encoder_exists("libsvtav1"):
        pytest.skip("this FFmpeg build has no AV1 encoder")
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        vs = c.add_stream("libsvtav1", rate=25, options={"preset": "12"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for f in kinds._pictures(range(10), 64, 48, Fraction(1, 25)):
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
    r = sharpen(src, tmp_path / "out.mp4", *LOUD, "--strength", "0")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].codec_context.codec.canonical_name == "av1"
    assert check_whole(src, tmp_path / "out.mp4", strength_zero=True) == []


@pytest.mark.parametrize("src_name, codec, audio_codec, suffix, audio_out", [
    ("web.webm", "libvpx-vp9", "libopus", ".ts", "opus"),  # VP9 went in as data: no video stream
    ("web.webm", "libvpx-vp9", "libopus", ".mpg", "mp2"),  # VP9 was read back as MP3 audio
    ("phone.mp4", "libx264", "aac", ".mpg", "mp2"),  # AAC: "Invalid argument ... .part.mpg returned 22"
    ("phone.mp4", "libx264", "aac", ".ogv", "opus"),
])
def test_a_container_gets_video_and_audio_it_can_mark(tmp_path, src_name, codec, audio_codec, suffix, audio_out):
    from media_factory import make_clip

    src = make_clip(tmp_path / src_name, codec=codec, audio_codec=audio_codec, frames=10)
    r = sharpen(src, tmp_path / f"out{suffix}", *FAST)
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        kinds_out = sorted((s.type, s.codec_context.codec.canonical_name) for s in c.streams if s.codec_context)
        assert [k for k, _ in kinds_out] == ["audio", "video"] and ("audio", audio_out) in kinds_out, kinds_out
        assert sum(1 for _ in c.decode(video=0)) == 10


@pytest.mark.parametrize("vfr", [False, True])
def test_ogv_from_mp4_counts_frames_and_keeps_the_first_one(tmp_path, vfr):
    # an MP4's 1/12800 time base went into Ogg as it was: Ogg's VP8 header said 12800 fps and FFmpeg's
    # demuxer, which counts a frame as one tick there, read the first frame 1/12800 s before the second:
    # the opening frame was never shown and the picture began 40 ms late (a phone's varying frame times
    # came back a few ms early each, from the encoder's durations); frames now sit on a frame-rate grid
    from media_factory import make_clip

    src = make_clip(tmp_path / "phone.mp4", codec="libx264", audio=0, frames=10, vfr=vfr)
    r = sharpen(src, tmp_path / "out.ogv", *FAST)
    assert r.returncode == 0, r.stderr
    (a, _, rate), (b, tb, _) = _shown(src), _shown(tmp_path / "out.ogv")
    assert len(b) == len(a) and b[0] == a[0] == 0
    assert b == pytest.approx(a, abs=float(1 / rate) / 2 if vfr else 1e-3)
    assert tb == 1 / rate


@pytest.mark.parametrize("codec, name, top_first, tag", [
    ("libx264", "cam.mts", True, 0), ("libx264", "cam.mkv", True, 2), ("mpeg2video", "dvb.ts", True, 0),
    ("mpeg2video", "dvd.mpg", True, 2), ("libx264", "cam.ts", False, 0), ("mpeg2video", "dv.mov", False, 0),
])
def test_interlaced_video_keeps_its_field_order(tmp_path, codec, name, top_first, tag):
    # every output was coded bottom field first (the encoders follow each frame's flag, which new frames
    # lack), under a container tag that said top first: judder on every 1080i broadcast or camcorder clip
    from truesight_video.media.reader import _top_field_first

    src = kinds.interlaced(tmp_path / name, codec, top_first, tag=tag)
    out = tmp_path / f"out{src.suffix}"
    r = sharpen(src, out, *FAST)
    assert r.returncode == 0, r.stderr
    for path in (src, out):
        with av.open(str(path)) as c:
            frames = list(c.decode(video=0))
            assert all(f.interlaced_frame and _top_field_first(f) == top_first for f in frames), path
            if not (codec == "libx264" and src.suffix in (".ts", ".mts")):  # there FFmpeg's parser guesses
                assert c.streams.video[0].codec_context.field_order in ((2, 5) if top_first else (3, 4, 0)), path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_mp4_chapters_are_kept_without_a_false_warning(tmp_path, suffix):
    # QuickTime's chapter text track (HandBrake, iPhone exports) was warned about as a data stream
    # "cannot be stored; dropped", though the chapters were kept
    from fractions import Fraction

    src = tmp_path / "film.mp4"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libx264", (64, 48), 25, {"preset": "ultrafast"})
        c.set_chapters([{"id": k + 1, "start": 400 * k, "end": 400 * (k + 1), "time_base": Fraction(1, 1000),
                         "metadata": {"title": t}} for k, t in enumerate(("Intro", "Main"))])
        for p in kinds._encode(vs, kinds._pictures(range(20), 64, 48, Fraction(1, 25))):
            c.mux(p)
    r = sharpen(src, tmp_path / f"out{suffix}", *LOUD)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert [ch["metadata"]["title"] for ch in c.chapters()] == ["Intro", "Main"]


def test_side_by_side_of_anamorphic_mpeg2_keeps_its_aspect(tmp_path):
    # MPEG-2 stores a few picture aspects only: the side-by-side of 16:9 PAL (32:9) came back with square
    # pixels, squeezed, and nothing said so; now an encoder that can store it is taken, with a warning
    from fractions import Fraction

    src = tmp_path / "dvb.ts"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "mpeg2video", (64, 48), 25, {})
        vs.codec_context.sample_aspect_ratio = Fraction(4, 3)  # a 16:9 picture, which MPEG-2 stores
        for p in kinds._encode(vs, kinds._pictures(range(10), 64, 48, Fraction(1, 25))):
            c.mux(p)
    with av.open(str(src)) as c:
        assert Fraction(c.streams.video[0].codec_context.sample_aspect_ratio) == Fraction(4, 3)
    r = sharpen(src, tmp_path / "pair.ts", *LOUD, "--side-by-side")  # 32:9: MPEG-2 cannot
    assert r.returncode == 0, r.stderr
    assert "pixel aspect 4/3" in r.stderr and "writing" in r.stderr, r.stderr
    with av.open(str(tmp_path / "pair.ts")) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.width, cc.height) == (128, 48)
        assert Fraction(cc.sample_aspect_ratio) == Fraction(4, 3)


def test_anamorphic_interlaced_mpeg2_into_webm_is_written_and_says_what_it_loses(tmp_path):
    # the real DVB capture into .webm failed: "no encoder can write this video into webm" (VP9 and AV1 there
    # keep no pixel aspect through PyAV); now written square with a warning, and the lost fields are named
    src = tmp_path / "dvb.ts"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "mpeg2video", (64, 48), 25, {"flags": "+ildct+ilme"})
        vs.codec_context.sample_aspect_ratio = Fraction(4, 3)  # a 16:9 picture (MPEG-2 stores the display aspect)
        for p in kinds._encode(vs, kinds._pictures(range(10), 64, 48, Fraction(1, 25))):
            c.mux(p)
    r = sharpen(src, tmp_path / "out.webm", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "pixel aspect 4/3" in r.stderr and "85x48" in r.stderr, r.stderr
    assert "interlaced video into libvpx-vp9" in r.stderr, r.stderr
    assert not any(line.startswith("Svt") for line in r.stderr.splitlines()), r.stderr  # AV1's trial is quiet
    assert len(video_frames(tmp_path / "out.webm")) == 10


@pytest.mark.parametrize("ext", [".mkv", ".avi", ".mp4"])
def test_a_broadcast_clock_hours_in_is_not_carried_into_other_containers(tmp_path, ext):
    # the DVB capture's clock begins 5 hours in: into Matroska the 2-second clip said it lasted 5 hours, into
    # AVI it failed ("Invalid argument": the muxer will not write hours of skipped frames); MPEG-TS keeps it
    src = kinds.mpeg2_ts_mid_gop(tmp_path / "dvb.ts", size=(96, 64), tail_cut=False)
    out = tmp_path / f"out{ext}"
    r = sharpen(src, out, *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        assert c.duration is not None and c.duration / av.time_base < 3
        assert c.start_time / av.time_base < 1
    if ext != ".avi":  # AVI keeps audio no time of its own: its sync is to the nearest frame
        # (MP4 marks streams default and tags codecs its own way: only times are compared)
        timing = [p for p in check_whole(src, out, strength_zero=True) if "time" in p or "moved" in p or "lasts" in p]
        assert timing == []


def test_a_font_attachment_is_kept_in_matroska_and_named_where_webm_drops_it(tmp_path):
    # WebM's muxer accepts an attachment and leaves it out of the file: it vanished without a word
    from fractions import Fraction

    src = tmp_path / "rip.mkv"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libvpx-vp9", (64, 48), 25, {})
        c.add_attachment("Font.ttf", "application/x-truetype-font", b"\x00\x01\x00\x00" * 64)
        for p in kinds._encode(vs, kinds._pictures(range(5), 64, 48, Fraction(1, 25))):
            c.mux(p)
    for suffix, kept in ((".mkv", True), (".webm", False)):
        r = sharpen(src, tmp_path / f"out{suffix}", *LOUD)
        assert r.returncode == 0, r.stderr
        assert ("attachment stream 1 (Font.ttf) cannot be stored in webm; dropped" in r.stderr) != kept, r.stderr
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            assert [s.metadata.get("filename") for s in c.streams if s.type == "attachment"] == (["Font.ttf"] if kept else [])


def test_a_commentary_track_keeps_its_flag_in_matroska_and_is_named_where_webm_drops_it(tmp_path):
    # WebM's muxer stores only the default and forced flags: a director's commentary became a plain track
    src = tmp_path / "film.mkv"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libvpx-vp9", (64, 48), 25, {})
        main_audio, commentary = (c.add_stream("libopus", rate=48000, layout="stereo") for _ in range(2))
        commentary.disposition = av.stream.Disposition.comment
        packets = kinds._encode(vs, kinds._pictures(range(5), 64, 48, Fraction(1, 25)))
        for a in (main_audio, commentary):
            packets += kinds._encode(a, kinds._tone(a, 0.2))
        for p in packets:
            c.mux(p)
    for suffix, kept in ((".mkv", True), (".webm", False)):
        r = sharpen(src, tmp_path / f"out{suffix}", *LOUD)
        assert r.returncode == 0, r.stderr
        said = "audio stream 2 (opus): commentary flag cannot be stored in webm; dropped" in r.stderr
        assert said != kept, r.stderr
        assert "stream 1" not in r.stderr, r.stderr
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            assert bool(c.streams.audio[1].disposition & av.stream.Disposition.comment) == kept


def _two_tracks_with_subtitles(path: Path, cue: int = 0) -> Path:
    """A Matroska file like the NASA clip: two H.264 tracks (length-prefixed, as MP4 and Matroska hold them),
    AAC and a text subtitle track whose first cue is at `cue` seconds."""
    srt = path.with_suffix(".srt")
    srt.write_text(f"1\n00:00:{cue:02d},000 --> 00:00:{cue:02d},300\nhello\n\n2\n00:00:{cue:02d},300 --> "
                   f"00:00:{cue:02d},400\nworld\n")
    with av.open(str(srt)) as subs, av.open(str(path), "w") as c:
        main_video = kinds._add_video(c, "libx264", (64, 48), 25, {"bf": "0"})
        extra = kinds._add_video(c, "libx264", (32, 24), 25, {"bf": "0"})
        a = c.add_stream("aac", rate=48000, layout="stereo")
        text = c.add_stream_from_template(subs.streams[0])
        packets = [p for v, (w, h) in ((main_video, (64, 48)), (extra, (32, 24)))
                   for p in kinds._encode(v, kinds._pictures(range(10), w, h, Fraction(1, 25)))]
        packets += kinds._encode(a, kinds._tone(a, 0.4))
        for p in subs.demux():
            if p.size:
                p.stream = text
                packets.append(p)
        for p in packets:
            c.mux(p)
    return path


def test_a_window_starts_a_copied_video_track_at_a_keyframe(tmp_path):
    # a window of the NASA clip copied its second H.264 track from the first packet after --start, mid-GOP:
    # players showed nothing (or garbage) until its next keyframe
    src = tmp_path / "two.mkv"
    with av.open(str(src), "w") as c:
        main_video = kinds._add_video(c, "libx264", (64, 48), 25, {"bf": "0", "g": "10"})
        extra = kinds._add_video(c, "libx264", (32, 24), 25, {"bf": "0", "g": "10"})
        for p in sorted([p for v, (w, h) in ((main_video, (64, 48)), (extra, (32, 24)))
                         for p in kinds._encode(v, kinds._pictures(range(40), w, h, Fraction(1, 25)))],
                        key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)
    with av.open(str(src)) as c:
        keys = [float(p.pts * p.time_base) for p in c.demux(c.streams.video[1]) if p.size and p.is_keyframe]
    key = next(t for t in keys if t >= 0.5)
    assert key > 0.52  # x264 put one inside the window, after its first frame (0.52 s)
    r = sharpen(src, tmp_path / "part.mkv", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "part.mkv")) as c:
        main_video, second = c.streams.video
        packets = [p for p in c.demux(second) if p.size]
        assert packets[0].is_keyframe
        first = float(packets[0].pts * second.time_base) - float(main_video.start_time * main_video.time_base)
        assert first == pytest.approx(key - 0.52, abs=0.002)  # where it was against the main video
    with av.open(str(tmp_path / "part.mkv")) as c:
        assert sum(1 for _ in c.decode(c.streams.video[1])) == len(packets)  # every copied packet decodes
    after = next(t for t in keys if t > key)  # a window between two keyframes holds none of that track: said
    r = sharpen(src, tmp_path / "gap.mkv", *LOUD, "--start", f"{key + 0.04:.2f}", "--duration", f"{after - key - 0.08:.2f}")
    assert r.returncode == 0 and "video stream 1 (h264) has no keyframe inside" in r.stderr, r.stderr


def _cues(path: Path, durations: bool = False) -> tuple[str, list[tuple]]:
    """A file's first subtitle track: its codec and its cues as (ms after the first video frame, words), or
    (ms, duration in ms, words)."""
    with av.open(str(path)) as c:
        sub = next(s for s in c.streams if s.type == "subtitle")
        index, codec = sub.index, sub.codec_context.codec.canonical_name
        first = next(c.decode(video=0))
        origin = float(first.pts * first.time_base)
    with av.open(str(path)) as c:
        cues = []
        for p in c.demux(c.streams[index]):
            data = bytes(p)
            text = data[2 : 2 + int.from_bytes(data[:2], "big")] if codec == "mov_text" else data
            if text:
                at = round((float(p.pts * p.time_base) - origin) * 1000)
                cues.append((at, round(float(p.duration * p.time_base) * 1000), text.decode()) if durations
                            else (at, text.decode()))
        return codec, cues


@pytest.mark.parametrize("codec,ext,target,words", [
    ("subrip", ".mp4", "mov_text", ["hello", "big\nworld"]),  # mov_text would show SRT's <i> as it is written
    ("subrip", ".mov", "mov_text", ["hello", "big\nworld"]),
    ("subrip", ".webm", "webvtt", ["<i>hello</i>", "big\nworld"]),
    ("ass", ".mp4", "mov_text", ["hello", "big\nworld"]),
    ("mov_text", ".mkv", "subrip", ["<i>hello</i>", "{\\an8}big\nworld"]),  # SRT players read {\an8}
    ("mov_text", ".webm", "webvtt", ["<i>hello</i>", "big\nworld"]),
])
def test_text_subtitles_move_into_the_text_codec_of_another_container(tmp_path, codec, ext, target, words):
    # a film's SRT or ASS into .mp4, a phone's or the NASA clip's mov_text into .mkv or .webm: "cannot be stored;
    # dropped", though each container holds text subtitles of its own kind
    src = kinds.text_subtitles(tmp_path / f"in{'.mp4' if codec == 'mov_text' else '.mkv'}", codec)
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert f"converting its text to {target}" in r.stderr, r.stderr
    assert _cues(tmp_path / f"out{ext}") == (target, list(zip((0, 200), words)))
    with av.open(str(tmp_path / f"out{ext}")) as c:
        assert [s.metadata.get("language") for s in c.streams if s.type == "subtitle"] == ["eng"]


@pytest.mark.parametrize("ext", [".mpg", ".avi", ".ts"])
def test_streams_a_container_would_garble_are_dropped_by_name(tmp_path, ext):
    # the NASA clip into .mpg: exit 0 and a file no player opens (its second H.264 track went in MP4-style and
    # read back as VVC); into .avi it failed after all the work; its mov_text subtitles went into .ts as
    # codec-less data and into .mpg as DVD bitmaps (as SRT does). Copies are now tried with their first packets,
    # read back.
    src = _two_tracks_with_subtitles(tmp_path / "nasa.mkv")
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "subtitle stream 3 (subrip) cannot be stored in" in r.stderr, r.stderr
    assert len(video_frames(tmp_path / f"out{ext}")) == 10
    with av.open(str(tmp_path / f"out{ext}")) as c:
        kinds_codecs = [(s.type, s.codec_context.name if s.codec_context else None) for s in c.streams]
    assert ("subtitle", "dvdsub") not in kinds_codecs and ("data", None) not in kinds_codecs, kinds_codecs
    if ext != ".ts":  # MPEG-TS takes the second track (its muxer makes it Annex B); the others drop it by name
        assert "video stream 1" in r.stderr and "dropped" in r.stderr, r.stderr


def test_a_subtitle_track_whose_first_cue_comes_late_is_tried_too(tmp_path):
    # only the file's first 300 packets were searched for a stream's samples: a track whose first cue came
    # later was tried by its header alone, and SRT went into .ts as codec-less data again
    src = _two_tracks_with_subtitles(tmp_path / "film.mkv", cue=20)
    r = sharpen(src, tmp_path / "out.ts", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "subtitle stream 3 (subrip) cannot be stored in mpegts" in r.stderr, r.stderr


@pytest.mark.parametrize("ext,kept", [(".mkv", True), (".ts", False), (".avi", False)])
def test_a_rotation_the_container_cannot_store_is_named(tmp_path, ext, kept):
    # the phone clip (rotation 180) into .ts, .mpg, .flv, .avi or .ogv played upside down without a word
    from media_factory import make_clip

    src = make_clip(tmp_path / "phone.mp4", codec="libx264", frames=3, rotation=180, audio=0)
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert ("cannot store the display rotation (180 degrees)" in r.stderr) != kept, r.stderr
    with av.open(str(tmp_path / f"out{ext}")) as c:
        assert abs(next(c.decode(video=0)).rotation) == (180 if kept else 0)


def test_a_hole_in_transcoded_audio_is_kept_as_silence(tmp_path):
    # the phone clip's first AAC packet says 8,471 samples and holds 1,024: transcoded (into .webm, .mpg),
    # everything after it ran on and played 155 ms early
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        vs = kinds._add_video(c, "libx264", (64, 48), 25, {"bf": "0"})
        a = c.add_stream("aac", rate=48000, layout="stereo")
        audio = kinds._encode(a, kinds._tone(a, 0.8))
        kinds._shift(audio[2:], Fraction(1, 5))  # a 0.2 s hole after the second packet
        for p in sorted(kinds._encode(vs, kinds._pictures(range(25), 64, 48, Fraction(1, 25))) + audio,
                        key=lambda q: float(q.dts * q.time_base)):
            c.mux(p)

    def heard(path: Path) -> float:
        with av.open(str(path)) as c:
            frames = list(c.decode(audio=0))
        return sum(f.samples for f in frames) / frames[0].sample_rate

    r = sharpen(src, tmp_path / "out.webm", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert abs(heard(tmp_path / "out.webm") - (heard(src) + 0.2)) < 0.03


@pytest.mark.parametrize("tick,clock", [(3001, 90000), (1001, 120000)])
def test_a_phone_s_frame_rate_into_avi_is_kept(tmp_path, tick, clock):
    # the Android HEVC clip (29.99 fps: 3001/90000 a frame, finer than MPEG-4 Part 2 takes) into .avi:
    # milliseconds were tried first, and 9 frames became 299 chunks at 1000 fps; then the nearest standard
    # rate, which for 119.88 fps slow motion is 60: two frames a tick, played at half speed
    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        vs = c.add_stream("libx265", rate=Fraction(clock, tick), options={"x265-params": "log-level=error"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, clock)
        for p in kinds._encode(vs, kinds._pictures(range(0, 9 * tick, tick), 64, 48, Fraction(1, clock))):
            c.mux(p)
    r = sharpen(src, tmp_path / "out.avi", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.avi")) as c:
        v = c.streams.video[0]
        assert v.frames == 9 and abs(v.average_rate / Fraction(clock, tick) - 1) < 0.001


@pytest.mark.parametrize("ext,kept", [(".mov", True), (".mkv", True), (".ts", False), (".avi", False)])
def test_a_timecode_the_container_cannot_store_is_named(tmp_path, ext, kept):
    # a GoPro's timecode into .avi, .ts, .mpg, .flv or .3gp vanished without a word
    src = kinds.gopro_like_mp4(tmp_path / "gopro.mp4", frames=5)
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert (f"timecode {kinds.GOPRO_TIMECODE} (" in r.stderr) != kept, r.stderr
    with av.open(str(tmp_path / f"out{ext}")) as c:
        tags = [v for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"]
    assert (kinds.GOPRO_TIMECODE in tags) == kept


@pytest.mark.parametrize("ext", [".mov", ".mkv"])
def test_a_window_carries_its_own_first_frames_timecode(tmp_path, ext):
    # a window from 1 s of a GoPro clip kept the clip's timecode, 30 frames early for every frame
    src = kinds.gopro_like_mp4(tmp_path / "gopro.mp4", frames=45)
    r = sharpen(src, tmp_path / f"part{ext}", *FAST, "--start", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / f"part{ext}")) as c:
        tags = {v for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"}
    assert tags == {"19:26:49:04"}  # the first frame at or after 1 s is frame 30 (29.97 fps, counted at 30)


@pytest.mark.parametrize("ext,kept", [(".mkv", True), (".ogv", False)])
def test_full_range_an_output_cannot_keep_is_named(tmp_path, ext, kept):
    # a GoPro's full-range picture into .ogv (VP8) came back tagged limited, 20 levels off, without a word;
    # an HLG clip into .avi said "colour tags are kept" and lost them
    src = kinds.gopro_like_mp4(tmp_path / "gopro.mp4", frames=5, range_tag="full", audio=False)
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert ("cannot keep full range" in r.stderr) != kept, r.stderr
    with av.open(str(tmp_path / f"out{ext}")) as c:
        assert (next(c.decode(video=0)).color_range == 2) == kept


def test_only_the_chosen_encoder_says_what_it_changed(tmp_path):
    # 10-bit HEVC into .3gp said "h263 cannot encode yuv420p10le; writing yuv420p" and then wrote 10-bit H.264:
    # an encoder tried and refused had spoken
    src = kinds.ten_bit_420(tmp_path / "phone.mp4")
    r = sharpen(src, tmp_path / "out.3gp", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "cannot encode" not in r.stderr and "writing libx264 instead" in r.stderr, r.stderr
    with av.open(str(tmp_path / "out.3gp")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p10le"


@pytest.mark.parametrize("ext,kept", [(".mkv", True), (".mov", True), (".ts", False), (".avi", False)])
def test_container_tags_the_output_cannot_store_are_named(tmp_path, ext, kept):
    # a phone's location and a GoPro's firmware into .ts or .avi vanished without a word
    src = tmp_path / "phone.mkv"
    with av.open(str(src), "w") as c:
        c.metadata["location"] = "+54.1800-002.7200/"
        vs = kinds._add_video(c, "libx264", (64, 48), 25, {"bf": "0"})
        for p in kinds._encode(vs, kinds._pictures(range(3), 64, 48, Fraction(1, 25))):
            c.mux(p)
    r = sharpen(src, tmp_path / f"out{ext}", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert ("container tags location cannot be stored" in r.stderr.lower()) != kept, r.stderr
    with av.open(str(tmp_path / f"out{ext}")) as c:
        assert ("location" in {k.lower() for k in c.metadata}) == kept


def test_an_audio_only_container_is_a_clear_error_not_about_codec(tmp_path):
    # it said "--codec no encoder can write ...", naming a flag the user had not given
    from media_factory import make_clip

    src = make_clip(tmp_path / "clip.mp4", codec="libx264", frames=3)
    r = sharpen(src, tmp_path / "clip.wav", *FAST)
    assert r.returncode == 1 and r.stderr.startswith("error: no encoder can write this video into wav"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*"))


def test_a_cut_vfr_mp4_is_still_refused(tmp_path):
    # the AVI allowance above, applied to every container, let an MP4 cut a few fast frames short pass:
    # its average frame rate made the packets' time span look whole
    from fractions import Fraction

    from media_factory import rgb_content

    src = tmp_path / "vfr.mp4"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as c:  # index first: a cut keeps it
        vs = c.add_stream("libx264", rate=60, options={"bf": "0", "g": "1"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 600)
        for i, t in enumerate([0] + [3000 + 10 * k for k in range(60)]):  # one frame, 5 s, then 60 fps
            f = av.VideoFrame.from_ndarray((rgb_content(i, 64, 48) * 255).astype(np.uint8), format="rgb24")
            f.pts, f.time_base = t, Fraction(1, 600)
            c.mux(vs.encode(f.reformat(format="yuv420p")))
        c.mux(vs.encode(None))
    data = src.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) - 3 * len(data) // 61])  # about the last 3 frames lost
    r = sharpen(tmp_path / "cut.mp4", tmp_path / "out.mp4", *FAST)
    assert r.returncode == 1 and "truncated input" in r.stderr, r.stderr


@pytest.mark.parametrize("suffix", [".ogv", ".mkv", ".mp4"])
def test_ogg_vorbis_last_packet_does_not_make_a_day_long_output(tmp_path, suffix):
    # Ogg's last Vorbis packet has a wrapped negative duration: copied, outputs claimed to last 27 hours,
    # and an MP4 failed at its trailer with "Invalid argument"
    src = kinds.vp8_vorbis_ogg(tmp_path / "old.ogv")
    r = sharpen(src, tmp_path / f"out{suffix}", *FAST)
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.duration is not None and c.duration / 1e6 < 1.5


def test_animated_gif_becomes_an_mp4(tmp_path):
    # the default output was anim.sharp.gif, which failed with an error about --codec (not given)
    from fractions import Fraction

    pal = np.zeros((256, 4), np.uint8)
    pal[:, 0], pal[:, 3] = np.arange(256), 255
    pal[:, 1] = 255 - np.arange(256)
    src = tmp_path / "anim.gif"
    with av.open(str(src), "w", format="gif") as c:
        vs = c.add_stream("gif", rate=10)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "pal8"
        for i in range(8):
            idx = ((np.arange(64)[None, :] * 4 + np.arange(48)[:, None] * 2 + 9 * i) % 256).astype(np.uint8)
            f = av.VideoFrame.from_ndarray((idx, pal), format="pal8")
            f.pts, f.time_base = i, Fraction(1, 10)
            c.mux(vs.encode(f))
        c.mux(vs.encode(None))
    r = subprocess.run([sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), *FAST, "--strength", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "anim.sharp.mp4"
    with av.open(str(src)) as a, av.open(str(out)) as b:
        fa = [f.to_ndarray(format="rgb24").astype(int) for f in a.decode(video=0)]
        fb = [f.to_ndarray(format="rgb24").astype(int) for f in b.decode(video=0)]
    assert len(fa) == len(fb) == 8
    assert np.abs(fa[4] - fb[4]).mean() < 6  # the colours kept (a grey output was the next bug behind it)
    r = sharpen(src, tmp_path / "out.gif", *FAST)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("error: --output cannot be a GIF")
    assert not (tmp_path / "out.gif").exists()
    import cv2  # a still into a GIF as well (OpenCV would write one)
    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((16, 16, 3), np.uint8))
    r = sharpen(tmp_path / "photo.png", tmp_path / "photo.gif", *FAST)
    assert r.returncode == 1 and "cannot be a GIF" in r.stderr and not (tmp_path / "photo.gif").exists()


def test_audio_an_mp4_hides_stays_hidden_in_matroska(tmp_path):
    # the edit list's hidden half second of audio was copied as plain packets: heard, and the video
    # pushed 0.52 s late
    src = kinds.mp4_with_early_audio(tmp_path / "early.mp4")
    r = sharpen(src, tmp_path / "out.mkv", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.mkv")) as c:
        first_video = next(c.decode(video=0)).time
    with av.open(str(tmp_path / "out.mkv")) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert first_video < 0.05  # an AAC frame of pre-roll at most, as for any AAC MP4 into Matroska
    assert samples <= 48000 * (1 + 0.05) + 2048


def test_a_phone_mp4_into_avi_keeps_its_frame_rate(tmp_path):
    # the MP4's 1/15360 time base was kept: AVI counts frames, so the output was a 15,360 fps stream of
    # empty chunks with a picture every 512th
    from fractions import Fraction

    from media_factory import rgb_content

    src = tmp_path / "phone.mp4"
    with av.open(str(src), "w") as c:
        vs = c.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 15360)
        for i in range(15):
            f = av.VideoFrame.from_ndarray((rgb_content(i, 64, 48) * 255).astype(np.uint8), format="rgb24")
            f.pts, f.time_base = 512 * i, Fraction(1, 15360)
            c.mux(vs.encode(f.reformat(format="yuv420p")))
        c.mux(vs.encode(None))
    r = sharpen(src, tmp_path / "out.avi", *FAST)
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.avi")) as c:
        v = c.streams.video[0]
        assert v.average_rate == 30 and v.frames == 15
        assert len(list(c.decode(video=0))) == 15


@pytest.mark.parametrize("codec", ["aac", "libopus"])  # copied, and transcoded (AVI holds no Opus)
def test_sound_that_starts_after_the_picture_keeps_its_time_in_avi(tmp_path, codec):
    # AVI keeps no time for sound, which plays from the file's start: AAC or Opus that began half a second after
    # the picture played half a second early, copied or transcoded
    src = kinds.sound_clip(tmp_path / "late.mkv", "matroska", codec, frames=50, seconds=1.5, late=Fraction(1, 2))
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    if codec == "aac":
        assert "would play 479 ms early copied into avi" in r.stderr, r.stderr  # from AAC's priming, 21 ms before it
    assert abs(audio_lag(src, tmp_path / "out.avi", dst_placed=False)) < 0.01


def test_aac_priming_at_a_low_rate_keeps_the_sound_in_time_in_avi(tmp_path):
    # AVI cannot mark AAC's 1,024 samples of priming: copied, an 8 kHz track played 128 ms late; transcoded,
    # the encoder's own priming did the same
    src = kinds._h264_aac(tmp_path / "voice.mp4", "mp4", 40, (64, 48), {"preset": "ultrafast", "bf": "0"},
                          audio_rate=8000, sweep=1000.0)
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert "would play 128 ms late copied into avi" in r.stderr, r.stderr
    assert abs(audio_lag(src, tmp_path / "out.avi", dst_placed=False)) < 0.01


def test_a_window_that_begins_before_the_sound_keeps_its_time_in_avi(tmp_path):
    src = kinds.sound_clip(tmp_path / "late.mkv", "matroska", "aac", frames=50, seconds=1.5, late=Fraction(1, 2))
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0", "--start", "0.2")
    assert r.returncode == 0, r.stderr
    assert "ms early copied into avi" in r.stderr, r.stderr
    # the output starts 0.2 s into the input: its sound is 0.2 s ahead of the input's, no more
    assert abs(audio_lag(src, tmp_path / "out.avi", dst_placed=False) + 0.2) < 0.01
    r = sharpen(src, tmp_path / "in.avi", *LOUD, "--strength", "0", "--start", "0.6")  # a window inside the sound
    assert r.returncode == 0 and "transcoding" not in r.stderr, r.stderr
    assert abs(audio_lag(src, tmp_path / "in.avi", dst_placed=False) + 0.6) < 0.03  # copied: AAC's priming late


def test_aac_at_a_lower_rate_is_still_copied_into_avi(tmp_path):
    # AAC's priming alone is 46 ms of sound at 22.05 kHz: late by that, which is not noticeable, so no re-encode
    src = kinds._h264_aac(tmp_path / "voice.mp4", "mp4", 40, (64, 48), {"preset": "ultrafast", "bf": "0"},
                          audio_rate=22050, sweep=1000.0)
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0")
    assert r.returncode == 0 and "transcoding" not in r.stderr, r.stderr


def test_sound_that_starts_after_ten_seconds_keeps_its_time_in_avi(tmp_path):
    # the copy's probe looked 10 s past the start: sound that began later was copied, to play that much early
    src = kinds.sound_clip(tmp_path / "late.mkv", "matroska", "aac", fps=5, frames=65, seconds=1.5, late=Fraction(11))
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0")
    assert r.returncode == 0 and "early copied into avi" in r.stderr, r.stderr
    assert abs(audio_lag(src, tmp_path / "out.avi", dst_placed=False, seconds=13.0)) < 0.01


def test_a_phone_s_first_aac_packet_with_a_long_duration_keeps_the_sound_in_time_in_avi(tmp_path):
    # the real Android clip's first AAC packet says 8,471 samples and holds 1,024: copied into AVI, which
    # plays sound one sample after another, everything after it played 155 ms early; now it is transcoded
    src = kinds.mp4_audio_gap_after_first(tmp_path / "phone.mp4")
    r = sharpen(src, tmp_path / "out.avi", *LOUD, "--strength", "0")
    assert r.returncode == 0, r.stderr
    # (155 ms, less the 21 of AAC's priming before it, which the real clip has not)
    assert "would play 134 ms early copied into avi" in r.stderr, r.stderr
    assert abs(audio_lag(src, tmp_path / "out.avi", dst_placed=False)) < 0.01
    r = sharpen(src, tmp_path / "out.mkv", *FAST, "--strength", "0")  # containers that keep times still copy
    assert r.returncode == 0 and "transcoding" not in r.stderr, r.stderr
    payloads = [[data for _, data in track] for track in stream_packets(src, "audio")]
    assert payloads == [[data for _, data in track] for track in stream_packets(tmp_path / "out.mkv", "audio")]


def test_broadcast_ts_starting_mid_gop_and_ending_corrupt(tmp_path):
    src = kinds.broadcast_ts_h264(tmp_path / "tv.ts")
    assert whole(src, tmp_path / "out.ts") == []  # exactly the frames a player shows, audio and subtitles intact


def test_gopro_full_range_pixels_tagged_limited_keep_their_colours(tmp_path):
    src = kinds.gopro_like_mp4(tmp_path / "gopro.mp4", range_tag="limited")
    assert whole(src, tmp_path / "out.mp4") == []
    assert colour_shift(src, tmp_path / "out.mp4") <= 0.3


def test_side_by_side_on_odd_width_420(tmp_path):
    src = kinds.odd_width_420(tmp_path / "odd.mkv", size=(67, 48))
    r = sharpen(src, tmp_path / "sbs.mkv", *FAST, "--side-by-side")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "sbs.mkv")) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 10 and (frames[0].width, frames[0].height) == (136, 48)  # each picture padded to an even width


@pytest.mark.parametrize("codec", ["prores_ks", "dnxhd"])
def test_ten_bit_420_into_a_422_only_encoder(tmp_path, codec):
    src = kinds.ten_bit_420(tmp_path / "ten.mp4", size=(256, 144))
    assert whole(src, tmp_path / "out.mov", "--codec", codec) == []
    with av.open(str(tmp_path / "out.mov")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv422p10le"  # depth kept, chroma not thinned


def test_interlaced_fields_are_sharpened_apart(tmp_path):
    from truesight_video.pipeline import sharpen_video

    class Recorder:
        shapes: list = []

    import torch

    class Spy(torch.nn.Module):
        r = 2

        def forward(self, x):
            Recorder.shapes.append(tuple(x.shape[-2:]))
            return x

    src = kinds.mpeg2_ts_mid_gop(tmp_path / "dvb.ts", size=(96, 64))
    sharpen_video(src, tmp_path / "out.ts", model=Spy(), device="cpu", precision="fp32", progress=False)
    assert Recorder.shapes and set(Recorder.shapes) == {(32, 96)}  # two fields of 32 lines, never 64
    with av.open(str(tmp_path / "out.ts")) as c:
        assert all(f.interlaced_frame for f in c.decode(video=0))


# ---- the real clips (skipped without ../shared)

REAL = {
    "gopro_hero5_karma_drone.mp4": [],
    "android14_hevc10_hlg_colorchecker.mp4": [],
    "dvb_pal576i_mpeg2_mp2.ts": [],
    "chrome_webcam_h264_in_webm_wave.webm": [],
    "nasa_2video_2aac_2movtext.mp4": [],
    "android_lowlight_vfr_rot180_shake.mp4": [],
}
# What FFmpeg cannot write, said in a warning and listed here rather than hidden: the GoPro "SOS"
# recovery track has no codec FFmpeg's MP4 muxer can store, and the timecode track is rebuilt by
# the muxer from the video's timecode (same start time, but its own handler name and flags, and
# referenced by the video only, so the audio no longer reports the timecode).
KNOWN_LIMITS = {
    "gopro_hero5_karma_drone.mp4": ("GoPro SOS", "GoPro TCD", "(GoPro AAC): timecode"),
}


@pytest.mark.parametrize("name", REAL)
def test_real_clip_comes_out_whole(shared_dir, tmp_path, name):
    src = shared_dir / "realmedia" / name
    before = src.read_bytes()
    dst = tmp_path / f"out{src.suffix}"
    problems = whole(src, dst, *REAL[name])
    allowed = KNOWN_LIMITS.get(name, ())
    assert [p for p in problems if not any(a in p for a in allowed)] == []
    assert src.read_bytes() == before


def test_a_real_gopro_into_mov_keeps_every_telemetry_packet(shared_dir, tmp_path):
    # the demuxer hides the SOS track until asked, and the writer asked after the reader had read ahead to the
    # first frame: 932 of its 939 packets came through
    src = shared_dir / "realmedia" / "gopro_hero5_karma_drone.mp4"
    problems = whole(src, tmp_path / "out.mov")
    assert [p for p in problems if "GoPro SOS" in p] == []


def test_a_window_of_a_real_gopro_keeps_its_telemetry(shared_dir, tmp_path):
    # the GoPro writes a second's telemetry after that second's video: the window's reading stopped at the
    # first packet past its end, and the MET packet at 1.001 s, inside the window, was lost without a word
    src = shared_dir / "realmedia" / "gopro_hero5_karma_drone.mp4"
    r = sharpen(src, tmp_path / "part.mp4", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    problems = check_whole(src, tmp_path / "part.mp4", strength_zero=True, start=0.5, duration=1.0)
    assert [p for p in problems if "GoPro MET" in p] == []


def test_converted_cues_without_a_duration_last_until_the_next(tmp_path):
    # Matroska SRT blocks with no BlockDuration became 0 ms cues in MP4, never shown, and the last one was lost
    cues = ((0, None, "one", ""), (400, None, "two", ""), (1200, None, "three", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=50, cues=cues)
    r = sharpen(src, tmp_path / "out.mp4", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    # the last lasts until the picture ends (2 s), at most 3 s
    assert _cues(tmp_path / "out.mp4", durations=True)[1] == [(0, 400, "one"), (400, 800, "two"), (1200, 800, "three")]


def test_a_cue_without_a_duration_is_written_beside_its_video(tmp_path):
    # held until the next cue (at 18 s), the cue at 1 s reached the WebM muxer after the video up to 6.9 s had
    # been written: a player reading in order met it after it had ended
    cues = ((1000, None, "early", ""), (18000, None, "late", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=500, cues=cues)
    r = sharpen(src, tmp_path / "out.webm", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.webm")) as c:
        order = [(p.stream.type, float(p.pts * p.time_base)) for p in c.demux() if p.size]
    early = next(i for i, (kind, _) in enumerate(order) if kind == "subtitle")
    assert order[early][1] == pytest.approx(1.0)
    assert all(t < 1.5 for kind, t in order[:early] if kind == "video"), order[:early][-3:]
    assert _cues(tmp_path / "out.webm", durations=True)[1] == [(1000, 5000, "early"), (18000, 2000, "late")]


@pytest.mark.parametrize("wrap,words", [("0", "one two"), ("2", "one\ntwo")])
def test_an_ass_soft_break_follows_the_scripts_wrap_style(tmp_path, wrap, words):
    # an ASS "\\n" became a new line in MP4 whatever the script said; it is one only in WrapStyle 2
    header = kinds.ASS_HEADER.replace("ScriptType: v4.00+\n", f"ScriptType: v4.00+\nWrapStyle: {wrap}\n")
    src = kinds.text_subtitles(tmp_path / "in.mkv", "ass", cues=((0, 300, "", "one\\ntwo"),), header=header)
    r = sharpen(src, tmp_path / "out.mp4", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert _cues(tmp_path / "out.mp4")[1] == [(0, words)]


def test_overlapping_cues_share_mov_text_samples(tmp_path):
    # a sign and a line of dialogue at once: MP4 cuts each mov_text sample at the next one's start, and the
    # sign was never shown
    cues = ((0, 1000, "", "SIGN"), (0, 300, "", "dialogue"), (300, 500, "", "more"))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "ass", frames=30, cues=cues)
    r = sharpen(src, tmp_path / "out.mp4", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert _cues(tmp_path / "out.mp4", durations=True)[1] == [
        (0, 300, "SIGN\ndialogue"), (300, 500, "SIGN\nmore"), (800, 200, "SIGN")]


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])  # copied, converted
def test_a_window_keeps_the_cue_on_screen_at_its_start_and_cuts_one_at_its_end(tmp_path, ext):
    # a line of dialogue begun before --start was dropped, though it was on screen through the window's start
    cues = ((0, 1000, "on at the start", ""), (1200, 1000, "on at the end", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=75, cues=cues)
    r = sharpen(src, tmp_path / f"part{ext}", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    # the window's first frame is at 0.52 s, its end at 1.5 s
    assert _cues(tmp_path / f"part{ext}", durations=True)[1] == [(0, 480, "on at the start"), (680, 300, "on at the end")]


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])  # copied, converted
def test_a_window_keeps_a_cue_without_a_duration_that_is_on_at_its_start(tmp_path, ext):
    # a cue without a duration lasts until the next: one begun before --start was dropped, though on screen
    cues = ((0, None, "over", ""), (300, None, "on at the start", ""), (1200, None, "next", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=75, cues=cues)
    r = sharpen(src, tmp_path / f"part{ext}", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    # the window's first frame is at 0.52 s, its last ends at 1.52 s: converted cues get the time they lasted
    got = _cues(tmp_path / f"part{ext}", durations=ext == ".mp4")[1]
    assert got == ([(0, 680, "on at the start"), (680, 320, "next")] if ext == ".mp4"
                   else [(0, "on at the start"), (680, "next")])


@pytest.mark.parametrize("ext", [".mkv", ".mp4"])  # copied, converted
@pytest.mark.parametrize("long_cue,want", [
    ((100, 3000, "long line", ""), {".mkv": [(0, 580, "long line")], ".mp4": [(0, 580, "long line")]}),
    ((100, None, "long line", ""), {".mkv": [(0, 0, "long line"), (180, 0, "next")],
                                    ".mp4": [(0, 180, "long line"), (180, 820, "next")]}),
])
def test_a_window_keeps_a_cue_muxed_before_the_keyframe_it_seeks_to(tmp_path, ext, long_cue, want):
    # a keyframe a second: --start 2.5 seeks to the one at 2 s, and a line on screen from 0.1 s, muxed before
    # it, was never read (a film cut from the middle lost the line on screen at its start)
    cues = (long_cue, (2700, None, "next", "")) if long_cue[1] is None else (long_cue,)
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=100, cues=cues, gop=25)
    assert 100 not in _text_read_after_seek(src, 2.5)  # the premise: Matroska began a cluster at 2 s
    r = sharpen(src, tmp_path / f"part{ext}", *FAST, "--start", "2.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    # the window's first frame is at 2.52 s, its end at 3.5 s
    assert _cues(tmp_path / f"part{ext}", durations=True)[1] == want[ext]


def _text_read_after_seek(src: Path, start: float) -> list[int]:
    """The text cues' times (ms) a demux from the keyframe before `start` reads, as the reader's seek does."""
    with av.open(str(src)) as c:
        vs = c.streams.video[0]
        c.seek(int(start / vs.time_base), stream=vs, backward=True, any_frame=False)
        return [round(float(p.pts * p.time_base) * 1000) for p in c.demux() if p.stream.type == "subtitle" and p.size]


def test_a_windows_early_cues_are_read_from_a_keyframe_before_its_lookback(tmp_path, monkeypatch):
    # past CUE_LOOKBACK into a clip the early read seeks too: to the keyframe at 1 s here, so the line from
    # 1.1 s is kept and one from 0.1 s (muxed before that keyframe) is not
    from truesight_video.media import reader

    monkeypatch.setattr(reader, "CUE_LOOKBACK", 1.0)
    cues = ((100, 3900, "from 0.1 s", ""), (1100, 3000, "from 1.1 s", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=100, cues=cues, gop=25)
    assert _text_read_after_seek(src, 2.5) == []  # the premise: a seek to 2.5 s reads neither cue
    with reader.VideoReader(src, start=2.5, duration=0.5) as r:
        got = [(round(float(p.pts * p.time_base) * 1000), round(float(p.duration * p.time_base) * 1000), bytes(p))
               for p in r if isinstance(p, av.Packet) and p.stream.type == "subtitle"]
    assert got == [(0, 480, b"from 1.1 s")]  # moved to the first frame (2.52 s), cut at the window's end (3 s)


def test_a_cue_at_a_windows_first_frame_ends_the_one_held_before_it(tmp_path):
    # only cues before the first frame ended the held one: it went out beside the cue that replaced it
    cues = ((300, None, "over", ""), (520, None, "at the first frame", ""))
    src = kinds.text_subtitles(tmp_path / "in.mkv", "subrip", frames=75, cues=cues)
    r = sharpen(src, tmp_path / "part.mp4", *FAST, "--start", "0.5", "--duration", "1", "--strength", "0")
    assert r.returncode == 0, r.stderr
    assert _cues(tmp_path / "part.mp4", durations=True)[1] == [(0, 1000, "at the first frame")]


def test_a_real_clips_mov_text_subtitles_become_srt_in_matroska(shared_dir, tmp_path):
    # the NASA clip's two English mov_text tracks were dropped from .mkv and .webm without their words
    src = shared_dir / "realmedia" / "nasa_2video_2aac_2movtext.mp4"
    r = sharpen(src, tmp_path / "out.mkv", *FAST, "--strength", "0", "--duration", "10")
    assert r.returncode == 0, r.stderr
    codec_in, cues_in = _cues(src)
    codec_out, cues_out = _cues(tmp_path / "out.mkv")
    assert (codec_in, codec_out) == ("mov_text", "subrip")
    assert len(cues_out) >= 2 and cues_out == [(t, w) for t, w in cues_in if t < 10_000]


def test_real_clip_with_the_default_model_and_no_options(shared_dir, tmp_path):
    src = shared_dir / "realmedia" / "android_lowlight_vfr_rot180_shake.mp4"
    r = CliRunner().invoke(main, ["sharpen", str(src), "-o", str(tmp_path / "o.mp4"), "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["frames"] == 25
    problems = check_whole(src, tmp_path / "o.mp4")
    assert problems == []
    a, b = video_frames(src), video_frames(tmp_path / "o.mp4")
    assert np.mean([np.abs(x[1][0].astype(int) - y[1][0]).mean() for x, y in zip(a, b)]) > 0.2  # it did sharpen


def test_a_real_phones_varying_frame_times_into_ogv_keep_the_first_frame(shared_dir, tmp_path):
    # into Ogg the first frame was lost (read a tick before the second) and every other came back 5 ms early
    src = shared_dir / "realmedia" / "android_lowlight_vfr_rot180_shake.mp4"
    r = sharpen(src, tmp_path / "out.ogv", *FAST, "--strength", "0")
    assert r.returncode == 0, r.stderr
    (a, _, _), (b, _, rate) = _shown(src), _shown(tmp_path / "out.ogv")
    assert len(b) == len(a) == 25 and b[0] == a[0]
    assert b == pytest.approx(a, abs=float(1 / rate))  # on a frame-rate grid, a frame at most


def test_a_real_rotated_clip_is_read_upright(shared_dir):
    # frames for the preview, synth --from video and teacher --from were read as stored, not as shown
    import cv2

    from truesight_video.media import iter_rgb

    src = shared_dir / "realmedia" / "android_lowlight_vfr_rot180_shake.mp4"
    cap = cv2.VideoCapture(str(src))  # OpenCV applies the display matrix itself
    ok, bgr = cap.read()
    cap.release()
    ours = next(iter(iter_rgb(src)))
    assert ok and ours.shape == bgr.shape
    assert np.abs(ours.astype(int) - bgr[..., ::-1]).mean() < 1.0  # the same picture, the same way up
