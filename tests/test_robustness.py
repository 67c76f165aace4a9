"""Defects a code review found, each pinned by a test: threads joined before containers close, the
webcam's grab thread joined before the camera is released, no process-wide umask changes, bench
leaves no temporary files, stills honour or name the options they get, the preview's strength and
readable labels, our SSIM, the progress bar's length."""
from __future__ import annotations

import importlib
import os
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from media_factory import make_clip
from truesight_video.cli import main
from truesight_video.model import Identity


def test_no_pipeline_thread_outlives_a_failed_run(tmp_path, monkeypatch):
    from truesight_video import engine
    from truesight_video.pipeline import sharpen_video

    src = make_clip(tmp_path / "in.mkv", frames=40, size=(64, 48))
    real = engine.Sharpener.sharpen_rgb
    calls = {"n": 0}

    def boom(self, x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated failure")
        return real(self, x)

    monkeypatch.setattr(engine.Sharpener, "sharpen_rgb", boom)
    with pytest.raises(RuntimeError, match="simulated failure"):
        sharpen_video(src, tmp_path / "out.mkv", model=Identity(), device="cpu", precision="fp32", progress=False)
    alive = [t.name for t in threading.enumerate() if t.name in ("decode", "encode")]
    assert alive == []  # both were joined before the reader's and writer's containers closed
    assert [p.name for p in tmp_path.iterdir()] == ["in.mkv"]


class FakeCamera:
    """A camera whose reads take a while; release() records whether a read was still running."""

    def __init__(self):
        self.reading = threading.Event()
        self.released_while_reading = None
        self.frame = np.full((48, 64, 3), 100, np.uint8)

    def isOpened(self):
        return True

    def read(self):
        self.reading.set()
        threading.Event().wait(0.05)
        self.reading.clear()
        return True, self.frame.copy()

    def get(self, prop):
        return 30.0

    def release(self):
        self.released_while_reading = self.reading.is_set()


def test_webcam_joins_its_grab_thread_before_releasing_the_camera(monkeypatch):
    from truesight_video import preview
    from truesight_video.engine import Sharpener

    cam = FakeCamera()
    monkeypatch.setattr(preview, "open_source", lambda source: cam)
    make = lambda size: Sharpener(Identity(), torch.device("cpu"), precision="fp32", frame_size=size)  # noqa: E731
    st = preview.run_webcam("0", make, "identity", window=False, max_frames=5)
    assert st.frames == 5 and st.numerics == "fp32 contiguous"
    assert cam.released_while_reading is False
    assert not [t for t in threading.enumerate() if t.name == "grab"]


def test_fsutil_leaves_the_umask_alone_and_outputs_get_the_usual_mode(tmp_path, monkeypatch):
    from truesight_video import fsutil

    def no_umask(*_):
        raise AssertionError("os.umask called")

    monkeypatch.setattr(os, "umask", no_umask)
    importlib.reload(fsutil)
    with fsutil.atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"x")
    monkeypatch.undo()
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_an_atomic_output_is_on_disk_before_it_takes_its_name(tmp_path, monkeypatch):
    # it was renamed without fsync: after a power cut the final name could hold an empty file
    from truesight_video import fsutil

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(fsutil.os, "replace", lambda a, b: events.append(("replace", str(a))) or real_replace(a, b))
    with fsutil.atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"x")
    assert events == [("fsync", str(tmp)), ("replace", str(tmp)), ("fsync", str(tmp_path))]


def test_bench_memory_run_writes_only_where_it_is_told(tmp_path, monkeypatch):
    from truesight_video.bench import rss_of_run

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    src = make_clip(tmp_path / "c.mp4", codec="libx264", frames=3)
    mb = rss_of_run(src, tmp_path / "o.mp4", "cpu", 1, "unsharp-placeholder")
    assert mb > 10 and (tmp_path / "o.mp4").is_file()
    left = [p.name for p in (tmp_path / "tmp").iterdir() if p.name != ".ses"]  # .ses: onnxruntime's own, if installed
    assert left == []  # (a temporary folder was left here before)


def test_still_images_honour_side_by_side_and_name_what_does_not_apply(tmp_path):
    import cv2

    img = np.zeros((30, 41, 3), np.uint8)
    img[:, 20:] = 200
    cv2.imwrite(str(tmp_path / "p.png"), img)
    r = CliRunner().invoke(main, ["sharpen", str(tmp_path / "p.png"), "--side-by-side", "--start", "3",
                                  "--codec", "libx264", "--device", "cpu", "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 0, r.output
    assert cv2.imread(str(tmp_path / "o.png")).shape == (30, 82, 3)
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: p.png is a still image: a start time and encoder settings do not apply; ignored"]


def test_preview_starts_at_the_given_strength(tmp_path):
    import cv2

    src = make_clip(tmp_path / "clip.mkv", frames=2, size=(160, 120))
    for strength in ("0", "1"):
        out = tmp_path / f"png{strength}"
        r = CliRunner().invoke(main, ["preview", str(src), "--no-window", "--save-png", str(out), "--frames", "1",
                                      "--strength", strength, "--model", "unsharp-placeholder", "--device", "cpu"])
        assert r.exit_code == 0, r.output
    still = {s: cv2.imread(str(next((tmp_path / f"png{s}").glob("*.png")))) for s in ("0", "1")}
    rows = slice(30, 90)  # between the labels
    assert np.abs(still["0"][rows, :160].astype(int) - still["0"][rows, 160:]).max() <= 1  # strength 0: unchanged
    assert np.abs(still["1"][rows, :160].astype(int) - still["1"][rows, 160:]).max() > 2


def test_preview_labels_can_be_read_on_a_small_clip():
    from truesight_video.compose import compose

    black = np.zeros((360, 640, 3), np.uint8)
    out = compose(black, black, "side", info="multiscale-student | cpu fp32 contiguous | 9.1 fps")
    rows = np.where(out[:100, :640].max(axis=(1, 2)) > 200)[0]
    assert rows.max() - rows.min() >= 15  # the label is at least 15 px tall (was about 8)


def test_ssim_matches_a_direct_computation():
    from truesight_video.training.ssim import gaussian_window, ssim

    rng = np.random.default_rng(0)
    x = rng.random((1, 1, 24, 24))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    g = gaussian_window(dtype=torch.float64).numpy()
    w = np.outer(g, g)
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for i in range(24 - 10):
        for j in range(24 - 10):
            a, b = x[0, 0, i:i + 11, j:j + 11], y[0, 0, i:i + 11, j:j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * a * a).sum() - ma**2, (w * b * b).sum() - mb**2
            cov = (w * a * b).sum() - ma * mb
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    assert ssim(torch.from_numpy(x), torch.from_numpy(y)).item() == pytest.approx(np.mean(vals), abs=1e-9)
    assert ssim(torch.from_numpy(x), torch.from_numpy(x)).item() == pytest.approx(1.0)


def test_progress_bar_counts_the_frames_of_the_window():
    from truesight_video.pipeline import _expected_frames

    class Info:
        rate, frames, duration = Fraction(30000, 1001), 362, 12.08

    assert _expected_frames(Info, 0.0, None) == 362
    assert _expected_frames(Info, 0.0, 1.0) == 30
    assert _expected_frames(Info, 10.0, None) == 362 - 300


def test_temp_dir_is_not_touched_by_a_plain_run(tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    from truesight_video.pipeline import sharpen_video

    src = make_clip(tmp_path / "c.mkv", frames=2)
    sharpen_video(src, tmp_path / "o.mkv", model=Identity(), device="cpu", progress=False)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert Path(tmp_path / "o.mkv").is_file()
