"""The command line: one-line errors, nothing left behind, inputs untouched, batches that resume."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from media_factory import make_clip, video_frames
from truesight_video.checkpoint import save_checkpoint
from truesight_video.cli import Terminated, friendly, main
from truesight_video.model import StudentCNN_v3, StudentConfig
from truesight_video.options import DEFAULT_TEMPORAL


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def listing(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4", codec="libx264", frames=6)


def assert_clean_failure(result, folder: Path, before: set[str], needle: str):
    assert result.exit_code != 0
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert needle.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in result.output
    assert listing(folder) == before, "something was left behind"


def test_sharpen_default_output_and_json(clip, tmp_path):
    r = run("sharpen", clip, "--json", "--device", "cpu")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["frames"] == 6 and Path(info["output"]) == tmp_path / "clip.sharp.mp4"
    assert info["fps"] > 0 and info["seconds"] > 0
    assert info["temporal"] == DEFAULT_TEMPORAL  # the filter runs unless turned off
    # second run without -y refuses, with -y succeeds
    again = run("sharpen", clip, "-q")
    assert again.exit_code == 1 and "output exists" in again.stderr
    assert run("sharpen", clip, "-q", "-y").exit_code == 0


def _truncated(tmp_path: Path) -> Path:
    full = make_clip(tmp_path / "full.mkv", frames=100, size=(64, 48))
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    full.unlink()
    return cut


def _audio_only(tmp_path: Path) -> Path:
    import av
    import numpy as np
    p = tmp_path / "audio.m4a"
    with av.open(str(p), "w") as c:
        a = c.add_stream("aac", rate=48000, layout="stereo")
        f = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
        f.sample_rate, f.pts = 48000, 0
        c.mux(a.encode(f))
        c.mux(a.encode(None))
    return p


BAD_INPUTS = {
    "missing": (lambda d: d / "nope.mp4", "not found"),
    "directory-as-file": (lambda d: (d / "sub").mkdir() or d / "sub", "no media files"),
    "empty": (lambda d: (d / "empty.mp4").write_bytes(b"") and None or d / "empty.mp4", "empty"),
    "not-media": (lambda d: (d / "notes.mp4").write_text("hello " * 100) and None or d / "notes.mp4", "not a readable media file"),
    "no-video": (_audio_only, "no video stream"),
    "truncated": (_truncated, "truncated"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_fail_cleanly(tmp_path, case):
    make, needle = BAD_INPUTS[case]
    src = make(tmp_path)
    before = listing(tmp_path)
    snapshot = src.read_bytes() if src.is_file() else None
    r = run("sharpen", src, "--device", "cpu", "-q")
    assert_clean_failure(r, tmp_path, before, needle)
    if snapshot is not None:
        assert src.read_bytes() == snapshot


@pytest.mark.parametrize("args,needle", [
    (["--strength", "2"], "strength"),
    (["--temporal", "1"], "temporal"),
    (["--crf", "99"], "crf"),
    (["--batch-size", "0"], "batch-size"),
    (["--codec", "nosuchcodec"], "nosuchcodec"),
    (["--pix-fmt", "nosuchfmt"], "nosuchfmt"),
    (["--preset", "slwo"], "--preset"),  # was passed to x264, refused, and the clip silently written as VP9
    (["--preset", "4"], "libx264"),  # a VP9/AV1 speed number for an H.264 clip
    (["--start", "99"], "start"),
    (["-o", "{d}/missing/out.mp4"], "does not exist"),
    (["-o", "{src}"], "overwrite the input"),
    (["--weights", "{d}/none.pt"], "not found"),
    (["--weights", "bogus-model"], "unknown model"),
])
def test_bad_options_fail_cleanly(clip, tmp_path, args, needle):
    args = [a.format(d=tmp_path, src=clip) for a in args]
    before = listing(tmp_path)
    snapshot = clip.read_bytes()
    r = run("sharpen", clip, "-q", "--device", "cpu", *args)
    if r.exit_code == 2:  # click's own usage error: still one line naming the option, no traceback
        assert needle in r.stderr and "Traceback" not in r.output
        assert listing(tmp_path) == before
    else:
        assert_clean_failure(r, tmp_path, before, needle)
    assert clip.read_bytes() == snapshot


def test_an_encoder_setting_the_encoder_refuses_is_an_error_not_another_codec(tmp_path):
    # yuv420p cannot hold an odd-sized frame: before, x264 and x265 failed their trials and VP9 was written
    src = make_clip(tmp_path / "odd.mp4", codec="libx264", pix_fmt="yuv444p", size=(63, 47), frames=3)
    before = listing(tmp_path)
    r = run("sharpen", src, "-q", "--pix-fmt", "yuv420p")
    assert_clean_failure(r, tmp_path, before, "--pix-fmt")


def test_a_preset_reaches_the_encoder_that_takes_it(tmp_path):
    import av

    from truesight_video.media.encoders import plan_video
    from truesight_video.media.reader import probe
    from truesight_video.options import EncodeSettings

    info = probe(make_clip(tmp_path / "in.webm", codec="libvpx-vp9", frames=2, audio=0))
    assert plan_video(info, EncodeSettings(preset="2"), "webm", info.width, info.height).options["cpu-used"] == "2"
    r = run("sharpen", tmp_path / "in.webm", "-q", "--preset", "2")
    assert r.exit_code == 0, r.output
    with av.open(str(tmp_path / "in.sharp.webm")) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
    bad = run("sharpen", tmp_path / "in.webm", "-q", "-y", "--preset", "slow")  # x264's word for a VP9 clip
    assert bad.exit_code == 1 and "libvpx-vp9 takes a speed number" in bad.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error(clip, tmp_path):
    before = listing(tmp_path)
    assert_clean_failure(run("sharpen", clip, "--device", "cuda"), tmp_path, before, "no CUDA")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(clip, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        before = listing(tmp_path)
        assert_clean_failure(run("sharpen", clip, "-o", ro / "x.mp4"), tmp_path, before, "not writable")
    finally:
        ro.chmod(0o700)


def test_weights_garbage_wrong_arch_and_malicious(clip, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(2000))
    wrong = tmp_path / "wrong.pt"
    torch.save({"format": "truesight-checkpoint", "arch": "StudentCNN_v3",
                "config": {"width": 8, "dilations": [1, 1, 1, 1, 1, 1], "unshuffle": 1},
                "state_dict": StudentCNN_v3(StudentConfig(width=16)).state_dict()}, wrong)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": "truesight-checkpoint", "x": Evil()}, f)
    before = listing(tmp_path)
    for w, needle in ((garbage, "cannot load"), (wrong, "wrong architecture"), (evil, "not a safe")):
        assert_clean_failure(run("sharpen", clip, "--weights", w, "-q"), tmp_path, before, needle)
    assert not marker.exists()


def test_checkpoint_weights_are_used(clip, tmp_path):
    ck = tmp_path / "student.pt"
    save_checkpoint(ck, StudentCNN_v3(StudentConfig(width=8)))
    r = run("sharpen", clip, "--weights", ck, "-o", tmp_path / "o.mp4", "--json")
    assert r.exit_code == 0, r.output
    assert len(video_frames(tmp_path / "o.mp4")) == 6


def test_failure_mid_run_leaves_nothing(tmp_path, monkeypatch):
    from truesight_video import engine

    src = make_clip(tmp_path / "in.mkv", frames=12)
    calls = {"n": 0}
    real = engine.Sharpener.sharpen_rgb

    def boom(self, x):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated failure")
        return real(self, x)

    monkeypatch.setattr(engine.Sharpener, "sharpen_rgb", boom)
    before = listing(tmp_path)
    r = run("sharpen", src, "--batch-size", "2", "-q")
    assert_clean_failure(r, tmp_path, before, "simulated failure")


def test_folder_batch_skips_existing_and_own_outputs_and_resumes(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    make_clip(d / "a.mkv", frames=3)
    make_clip(d / "b.mp4", codec="libx264", frames=3)
    make_clip(d / "a.sharp.mkv", frames=2)  # our own output: never an input
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.sharp.mp4").write_bytes(b"done before")  # a finished output: skipped, so runs resume
    r = run("sharpen", d, "-o", out)
    assert r.exit_code == 0, r.output
    assert "1 sharpened, 1 skipped, 0 failed" in r.stderr
    assert listing(out) == {"a.sharp.mkv", "b.sharp.mp4"}
    assert (out / "b.sharp.mp4").read_bytes() == b"done before"


def test_inputs_of_the_same_name_do_not_share_an_output(tmp_path):
    # a/clip.mkv and b/clip.mkv into one folder: b was reported "output exists" (or, with -y, overwrote a's)
    for d in ("a", "b", "out"):
        (tmp_path / d).mkdir()
    make_clip(tmp_path / "a" / "clip.mkv", frames=2)
    make_clip(tmp_path / "b" / "clip.mkv", frames=3)
    for flags in ([], ["-y"]):
        r = run("sharpen", tmp_path / "a" / "clip.mkv", tmp_path / "b" / "clip.mkv", "-o", tmp_path / "out", *flags)
        assert r.exit_code == 0, r.output
        assert "1 sharpened, 1 skipped" in r.stderr and "same output as" in r.stderr
        assert len(video_frames(tmp_path / "out" / "clip.sharp.mkv")) == 2  # a's, not b's
        assert listing(tmp_path / "out") == {"clip.sharp.mkv"}
        (tmp_path / "out" / "clip.sharp.mkv").unlink()


@pytest.mark.parametrize("folder", ["existing", "new/"])
def test_one_input_with_a_folder_as_output(tmp_path, folder):
    # -o FOLDER with one input was "output is a directory" (or, for a new folder, a file without extension)
    src = make_clip(tmp_path / "clip.mkv", frames=2)
    (tmp_path / "existing").mkdir()
    r = run("sharpen", src, "-q", "-o", f"{tmp_path}/{folder}")
    if folder == "existing":
        assert r.exit_code == 0, r.output
        assert listing(tmp_path / "existing") == {"clip.sharp.mkv"}
    else:
        assert r.exit_code == 1 and r.stderr.strip() == f"error: output folder does not exist: {tmp_path}/new"
        assert not (tmp_path / "new").exists()


def test_batch_with_a_failure_exits_nonzero(tmp_path):
    a = make_clip(tmp_path / "a.mkv", frames=3)
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    r = run("sharpen", a, bad)
    assert r.exit_code == 1
    assert (tmp_path / "a.sharp.mkv").exists() and not (tmp_path / "bad.sharp.mp4").exists()
    assert "1 sharpened, 0 skipped, 1 failed" in r.stderr


def test_a_bug_met_on_one_clip_of_a_batch_fails_that_clip_only(tmp_path, monkeypatch):
    # an exception other than our own (FFmpeg at close, a model thread) stopped the whole local batch
    from truesight_video import jobs

    a, b = make_clip(tmp_path / "a.mkv", frames=2), make_clip(tmp_path / "b.mkv", frames=2)
    real = jobs.sharpen_video

    def flaky(src, dst, *args, **kwargs):
        if Path(src).name == "a.mkv":
            raise RuntimeError("simulated internal failure")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(jobs, "sharpen_video", flaky)
    r = run("sharpen", a, b)
    assert r.exit_code == 1 and "0 skipped, 1 failed" in r.stderr
    assert "a.mkv: RuntimeError: simulated internal failure" in r.stderr
    assert (tmp_path / "b.sharp.mkv").exists() and not (tmp_path / "a.sharp.mkv").exists()


def test_still_image(tmp_path):
    import cv2
    import numpy as np
    from media_factory import rgb_content

    img = (rgb_content(0, 50, 40) * 255).astype(np.uint8)
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), img)
    r = run("sharpen", src, "-q")
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "photo.sharp.png"))
    assert out.shape == img.shape and not np.array_equal(out, img)


def test_still_images_keep_alpha_depth_and_greyness(tmp_path):
    # alpha was dropped, 16-bit written as 8-bit and grey images as colour
    import cv2
    import numpy as np
    from media_factory import rgb_content

    base = rgb_content(0, 50, 40)[..., ::-1]  # BGR float in [0,1]
    alpha = np.tile(np.linspace(0, 65535, 50), (40, 1)).round().astype(np.uint16)
    rgba16 = np.concatenate([(base * 65535).round().astype(np.uint16), alpha[..., None]], axis=2)
    cv2.imwrite(str(tmp_path / "logo.png"), rgba16)
    cv2.imwrite(str(tmp_path / "grey.png"), (base[..., 1] * 255).round().astype(np.uint8))
    r = run("sharpen", tmp_path / "logo.png", tmp_path / "grey.png", "-q")
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "logo.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (40, 50, 4)
    assert np.array_equal(out[..., 3], alpha) and not np.array_equal(out[..., :3], rgba16[..., :3])
    grey = cv2.imread(str(tmp_path / "grey.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (40, 50) and grey.dtype == np.uint8
    r = run("sharpen", tmp_path / "logo.png", "-o", tmp_path / "sbs.png", "--side-by-side", "-q")
    sbs = cv2.imread(str(tmp_path / "sbs.png"), cv2.IMREAD_UNCHANGED)
    assert r.exit_code == 0 and sbs.shape == (40, 100, 4) and sbs.dtype == np.uint8
    assert np.array_equal(sbs[..., 3], np.concatenate([(alpha / 257).round().astype(np.uint8)] * 2, axis=1))


@pytest.mark.parametrize("depth", [8, 16])
def test_a_grey_png_with_alpha_stays_grey_with_alpha(tmp_path, depth):
    # OpenCV reads a grey + alpha PNG (colour type 4) as BGRA and writes no two-channel PNG: it came out RGBA
    import cv2
    import numpy as np
    from test_stillmeta import _grey_alpha_png

    top = (1 << depth) - 1
    grey = (np.arange(40 * 50).reshape(40, 50) * 37 % (top + 1)).astype(np.uint16 if depth == 16 else np.uint8)
    alpha = np.tile(np.linspace(0, top, 50), (40, 1)).round().astype(grey.dtype)
    (tmp_path / "mask.png").write_bytes(_grey_alpha_png(grey, alpha, depth))
    r = run("sharpen", tmp_path / "mask.png", "-q")
    assert r.exit_code == 0, r.output
    data = (tmp_path / "mask.sharp.png").read_bytes()
    assert (data[24], data[25]) == (depth, 4)  # bit depth, colour type grey + alpha
    out = cv2.imread(str(tmp_path / "mask.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == grey.dtype and out.shape == (40, 50, 4) and np.array_equal(out[..., 3], alpha)
    assert np.array_equal(out[..., 0], out[..., 2]) and not np.array_equal(out[..., 0], grey)


def test_a_grey_png_with_a_transparent_level_keeps_its_transparency(tmp_path):
    # OpenCV reads a grey PNG's tRNS chunk as nothing: the sharpened copy came out opaque
    import cv2
    import numpy as np
    from test_stillmeta import _grey_png

    grey = (np.arange(40 * 50).reshape(40, 50) * 7 % 256).astype(np.uint8)
    grey[10:20, 10:30] = 0  # the transparent level, a block of it and scattered pixels
    (tmp_path / "mask.png").write_bytes(_grey_png(grey, 8, 0))
    r = run("sharpen", tmp_path / "mask.png", "-q")
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "mask.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (40, 50, 4)
    assert np.array_equal(out[..., 3], np.where(grey == 0, 0, 255).astype(np.uint8))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])  # still grey
    # with a grey colour profile: written as grey + alpha (PNG colour type 4), which the profile still describes
    from test_stillmeta import _profile
    from truesight_video.stillmeta import read_meta, with_meta, StillMeta, png_colour_type
    (tmp_path / "profiled.png").write_bytes(with_meta(_grey_png(grey, 8, 0), StillMeta(_profile(b"GRAY"), None)))
    r = run("sharpen", tmp_path / "profiled.png", "-q")
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "profiled.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (40, 50, 4) and png_colour_type((tmp_path / "profiled.sharp.png").read_bytes()) == 4
    assert read_meta(tmp_path / "profiled.sharp.png").icc == _profile(b"GRAY")


def test_a_phone_photo_is_sharpened_upright(tmp_path):
    # reading with alpha and depth kept (IMREAD_UNCHANGED) ignored the EXIF orientation
    import struct

    import cv2
    import numpy as np
    from media_factory import rgb_content

    img = (rgb_content(0, 60, 40) * 255).astype(np.uint8)  # 40 rows, 60 columns, stored landscape
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    # a minimal EXIF block: one IFD entry, Orientation (0x0112) = 6, "rotate 90 degrees clockwise to show"
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) \
        + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    data = jpg.tobytes()
    (tmp_path / "phone.jpg").write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
    assert cv2.imread(str(tmp_path / "phone.jpg")).shape == (60, 40, 3)  # what viewers show
    r = run("sharpen", tmp_path / "phone.jpg", "-q")
    assert r.exit_code == 0, r.output
    assert cv2.imread(str(tmp_path / "phone.sharp.jpg"), cv2.IMREAD_UNCHANGED).shape == (60, 40, 3)


def _icc_profile(size: int) -> bytes:
    """A structurally valid RGB display profile of the given size (header, empty tag table, padding)."""
    import struct

    head = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", b"RGB ", b"XYZ ") + bytes(12) + b"acsp"
    head += bytes(64 - len(head)) + struct.pack(">I3i", 0, 0xF6D6, 0x10000, 0xD32D)
    head += bytes(128 - len(head)) + struct.pack(">I", 0)
    return head + bytes(size - len(head))


def test_a_photo_keeps_its_colour_profile_and_exif(tmp_path):
    # OpenCV writes neither: a wide-gamut phone photo lost its profile (shown as sRGB, washed out), and its
    # EXIF; the EXIF kept must not turn the upright pixels a second time
    import struct
    import zlib

    import cv2
    import numpy as np
    from media_factory import rgb_content

    from truesight_video.stillmeta import read_meta

    img = (rgb_content(0, 60, 40) * 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    make = b"PhoneCo\x00"
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 2) + struct.pack(">HHII", 0x010F, 2, len(make), 38) \
        + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0) + make
    icc = _icc_profile(70_000)  # two APP2 segments in a JPEG
    app1 = b"Exif\x00\x00" + tiff
    segs = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    for n, part in enumerate((icc[:65519], icc[65519:]), 1):
        body = b"ICC_PROFILE\x00" + bytes((n, 2)) + part
        segs += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    data = jpg.tobytes()
    (tmp_path / "phone.jpg").write_bytes(data[:2] + segs + data[2:])
    before = (tmp_path / "phone.jpg").read_bytes()
    r = run("sharpen", tmp_path / "phone.jpg", "-q")
    r2 = run("sharpen", tmp_path / "phone.jpg", "-o", tmp_path / "phone.png", "-q")
    assert r.exit_code == 0 and r2.exit_code == 0, r.output + r2.output
    assert (tmp_path / "phone.jpg").read_bytes() == before
    for out in (tmp_path / "phone.sharp.jpg", tmp_path / "phone.png"):
        meta = read_meta(out)
        assert meta.icc == icc, out.name
        assert meta.exif == tiff[:30] + struct.pack(">H", 1) + tiff[32:], out.name  # orientation 6 -> 1
        assert cv2.imread(str(out)).shape == (60, 40, 3)  # shown upright, as the input was
    # a PNG with alpha (OpenCV reads its alpha only as stored) is turned upright too, its alpha with it: kept
    # as stored, a side-by-side was turned whole by the viewer, and a WebP or TIFF came out sideways
    alpha = np.arange(40 * 60, dtype=np.uint16).reshape(40, 60, 1) % 251
    rgba = np.concatenate([img, alpha.astype(np.uint8)], axis=2)
    ok, png = cv2.imencode(".png", rgba)
    png = png.tobytes()
    chunk = b"eXIf" + tiff
    (tmp_path / "logo.png").write_bytes(png[:33] + struct.pack(">I", len(tiff)) + chunk
                                        + struct.pack(">I", zlib.crc32(chunk)) + png[33:])
    assert run("sharpen", tmp_path / "logo.png", "-q", "--strength", "0").exit_code == 0
    assert read_meta(tmp_path / "logo.sharp.png").exif == tiff[:30] + struct.pack(">H", 1) + tiff[32:]
    out = cv2.imread(str(tmp_path / "logo.sharp.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(out[..., 3], np.rot90(alpha[..., 0].astype(np.uint8), -1))  # orientation 6: turned right
    for suffix in (".webp", ".tif"):  # no EXIF written there: the pixels must be upright
        assert run("sharpen", tmp_path / "logo.png", "-o", tmp_path / f"logo{suffix}", "-q").exit_code == 0
        assert cv2.imread(str(tmp_path / f"logo{suffix}"), cv2.IMREAD_UNCHANGED).shape == (60, 40, 4)
    assert run("sharpen", tmp_path / "logo.png", "-o", tmp_path / "pair.png", "--side-by-side", "-q").exit_code == 0
    assert cv2.imread(str(tmp_path / "pair.png"), cv2.IMREAD_UNCHANGED).shape[:2] == (60, 80)  # side by side as shown


def _cli(*args: object) -> subprocess.CompletedProcess:
    """The CLI in its own process (a crash shows as a signal, warnings reach stderr)."""
    return subprocess.run([sys.executable, "-m", "truesight_video.cli", *map(str, args), "--device", "cpu",
                           "--model", "unsharp-placeholder"], capture_output=True, text=True)


def test_a_still_whose_name_is_not_utf8_is_sharpened(tmp_path):
    # cv2.imread crashed the whole folder run (SIGSEGV, no message) on a Latin-1 name such as caf\xe9.png
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3))
    try:
        (Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.png"))).write_bytes(png.tobytes())
    except (OSError, UnicodeError):
        pytest.skip("this filesystem takes UTF-8 names only")
    (tmp_path / "z.png").write_bytes(png.tobytes())
    r = _cli("sharpen", tmp_path, "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(bytes(tmp_path))) == [b"caf\xe9.png", b"caf\xe9.sharp.png", b"z.png", b"z.sharp.png"]


def test_a_multi_page_tiff_says_only_its_first_page_is_sharpened(tmp_path):
    import cv2
    import numpy as np

    pages = [(np.arange(48 * 64 * 3) * k % 251).astype(np.uint8).reshape(48, 64, 3) for k in (1, 3)]
    assert cv2.imwritemulti(str(tmp_path / "scan.tif"), pages)
    r = _cli("sharpen", tmp_path / "scan.tif", "-o", tmp_path / "out.tif")
    assert r.returncode == 0, r.stderr
    assert "scan.tif holds 2 pages: only its first is sharpened" in r.stderr, r.stderr


@pytest.mark.parametrize("suffix", [".webp", ".bmp"])
def test_a_16_bit_still_into_an_8_bit_format_is_scaled_not_saturated(tmp_path, suffix):
    # OpenCV saturates 16-bit values it cannot store: 99 % of the output was white
    import cv2
    import numpy as np

    deep = (np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3) * 23 % 65536).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "scan.png"), deep)
    r = _cli("sharpen", tmp_path / "scan.png", "-o", tmp_path / f"out{suffix}", "--strength", "0")
    assert r.returncode == 0 and f"{suffix} is written at 8 bits" in r.stderr, r.stderr
    out = cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - deep.astype(int) / 257).max() <= 1


def test_a_truncated_jpeg_is_refused_and_said_with_q_in_a_folder(tmp_path):
    # a cut JPEG decoded with grey rows and no error: written, counted as sharpened, then skipped as done
    import cv2
    import numpy as np

    ok, jpg = cv2.imencode(".jpg", (np.arange(96 * 128 * 3) % 251).astype(np.uint8).reshape(96, 128, 3))
    (tmp_path / "cut.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 2])
    (tmp_path / "good.jpe").write_bytes(jpg.tobytes())  # a name OpenCV reads and cannot write: out as .jpg
    r = _cli("sharpen", tmp_path, "-q")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"{tmp_path / 'cut.jpg'}: truncated image {tmp_path / 'cut.jpg'}: "
                                             "its JPEG data stops before its end"], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.jpg", "good.jpe", "good.sharp.jpg"]


@pytest.mark.parametrize("factor, sampling", [("444", (1, 1)), ("422", (2, 1)), ("420", (2, 2))])
def test_a_jpeg_keeps_its_chroma_sampling(tmp_path, factor, sampling):
    # a camera's 4:4:4 (or 4:2:2) JPEG was re-encoded 4:2:0, OpenCV's default: colour detail halved
    import cv2
    import numpy as np

    from truesight_video.stillmeta import meta_of

    img = (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                         getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{factor}")])
    (tmp_path / "cam.jpg").write_bytes(jpg.tobytes())
    assert meta_of(jpg.tobytes()).jpeg_sampling == sampling
    r = _cli("sharpen", tmp_path / "cam.jpg", "-q")
    assert r.returncode == 0, r.stderr
    assert meta_of((tmp_path / "cam.sharp.jpg").read_bytes()).jpeg_sampling == sampling


def test_a_still_to_a_name_no_image_writer_takes_is_refused_first(tmp_path):
    # -o pic.mp4 ran the model and then failed through the internal-error path with OpenCV's message
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "pic.png"), np.zeros((8, 8, 3), np.uint8))
    for name in ("pic.mp4", "pic"):
        r = _cli("sharpen", tmp_path / "pic.png", "-o", tmp_path / name, "-q")
        assert r.returncode == 1 and r.stderr.strip() == (
            f"error: --output {name}: a still image is written as .png, .jpg, .webp, .tif or .bmp"), r.stderr


def test_models_and_version():
    r = run("models")
    assert r.exit_code == 0 and "unsharp-placeholder" in r.stdout
    v = run("--version")
    assert v.exit_code == 0 and "0.1.0" in v.stdout


def test_shim_and_console_script_run_without_gui(tmp_path):
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "cli.py"), "models"], capture_output=True, text=True)
    assert out.returncode == 0 and "unsharp-placeholder" in out.stdout
    code = ("import sys, truesight_video.cli, truesight_video.pipeline, truesight_video.jobs;"
            "bad=[m for m in sys.modules if m.startswith(('cv2.highgui','PyQt','truesight_video.preview'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("interrupt,code,word", [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")])
def test_interrupt_inside_a_native_import_is_still_an_interrupt(capsys, interrupt, code, word):
    # CI: Ctrl-C landed while onnxruntime's pybind11 module initialised, which re-raises it as
    # ImportError("initialization failed"); the run exited 1 with "error: ImportError" instead of 130
    @friendly
    def run():
        try:
            raise interrupt
        except KeyboardInterrupt as e:
            raise ImportError("initialization failed") from e

    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == code
    assert capsys.readouterr().err.startswith(f"{word}: no output was left behind")


@pytest.mark.parametrize("sig,code,word", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_ctrl_c_or_kill_leaves_nothing_behind(tmp_path, sig, code, word):
    # SIGTERM (kill, a scheduler's timeout) killed the process where it stood and left the hidden .part file
    import signal
    import time as _time

    src = make_clip(tmp_path / "long.mkv", frames=40, size=(320, 240))
    slow = tmp_path / "slow.pt"  # a full-resolution wide model: a few frames take seconds on a CPU
    save_checkpoint(slow, StudentCNN_v3(StudentConfig(width=96, unshuffle=1)))
    before = listing(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "truesight_video.cli", "sharpen", str(src), "--weights", str(slow),
                             "-q", "--device", "cpu"], stderr=subprocess.PIPE, text=True,
                            # a background job of a non-interactive shell ignores SIGINT, and so would the child
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = _time.time() + 60
    while _time.time() < deadline and not any(p.name.startswith(".long") for p in tmp_path.iterdir()):
        _time.sleep(0.05)  # wait until the temporary output exists, i.e. work has started
    _time.sleep(0.5)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert word in err and "Traceback" not in err
    assert listing(tmp_path) == before


def test_bench_prints_every_figure_and_ratios_from_one_run():
    r = CliRunner().invoke(main, ["bench", "--size", "64x48", "--seconds", "0.5", "--weights", "unsharp-placeholder",
                                  "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert (d["width"], d["height"], d["model"], d["device"]) == (64, 48, "unsharp-placeholder", "cpu")
    for k in ("transcode_fps", "model_fps", "pipeline_fps", "naive_fps", "peak_rss_mb"):
        assert d[k] > 0, k
    ideal = 1 / (1 / d["model_fps"] + 1 / d["transcode_fps"])
    assert d["serial_ideal_fps"] == pytest.approx(ideal, rel=0.01)
    assert d["pipeline_vs_ideal"] == pytest.approx(d["pipeline_fps"] / ideal, rel=0.01)
    assert d["pipeline_vs_naive"] == pytest.approx(d["pipeline_fps"] / d["naive_fps"], rel=0.01)
