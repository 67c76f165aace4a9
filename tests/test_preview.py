"""Side-by-side composition, the headless webcam path and the preview's key handling."""
from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from media_factory import make_clip
from truesight_video.cli import main
from truesight_video.compose import compose
from truesight_video.preview import ViewState, handle_key, processing_size


def _imgs(h=41, w=63):
    rng = np.random.default_rng(0)
    return rng.integers(0, 100, (h, w, 3), dtype=np.uint8), rng.integers(150, 255, (h, w, 3), dtype=np.uint8)


def test_side_by_side_layout_and_labels_on_odd_sizes():
    a, b = _imgs()
    out = compose(a, b, "side", labels=("original", "sharpened"))
    assert out.shape == (41, 126, 3) and out.flags["C_CONTIGUOUS"]
    plain = np.concatenate([a, b], 1)
    assert not np.array_equal(out[:20], plain[:20])  # labels drawn at the top
    assert np.array_equal(out[30:, 70:120], plain[30:, 70:120])  # image content elsewhere untouched


def test_split_mode_puts_original_left_of_the_line():
    a, b = _imgs(100, 200)
    out = compose(a, b, "split", split=0.25, labels=("", ""))
    assert out.shape == a.shape
    assert np.array_equal(out[50:, 10:40], a[50:, 10:40])
    assert np.array_equal(out[50:, 100:190], b[50:, 100:190])
    assert (out[50:, 49] == 255).all()


def test_compose_rejects_mismatched_sizes():
    a, _ = _imgs()
    with pytest.raises(ValueError, match="differ"):
        compose(a, a[:-1], "side")


def test_keys_drive_the_view_state():
    s = ViewState()
    handle_key(s, ord("s"))
    assert s.mode == "split"
    handle_key(s, ord("-"))
    assert s.strength == pytest.approx(0.9)
    assert handle_key(s, 83) is None  # right arrow does nothing while playing
    handle_key(s, ord(" "))
    assert s.paused and handle_key(s, 81) == "back" and handle_key(s, 83) == "forward"
    handle_key(s, ord("q"))
    assert s.quit


def test_processing_size_caps_the_longer_side():
    assert processing_size(1280, 720, 640) == (640, 360)
    assert processing_size(320, 240, 640) == (320, 240)
    assert processing_size(1280, 720, None) == (1280, 720)


def test_webcam_headless_from_a_file_records_every_frame(tmp_path):
    src = make_clip(tmp_path / "cam.mp4", codec="libx264", frames=9, size=(64, 48))
    rec = tmp_path / "rec.mp4"
    r = CliRunner().invoke(main, ["webcam", "--source", str(src), "--no-window", "--record", str(rec), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["frames"] == 9 and info["processing"] == "64x48"
    with av.open(str(rec)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 9 and (frames[0].width, frames[0].height) == (128, 48)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_webcam_record_keeps_an_existing_file_without_y(tmp_path):
    # --record replaced an existing file without asking
    src = make_clip(tmp_path / "cam.mp4", codec="libx264", frames=2, size=(64, 48))
    keep = tmp_path / "keep.mp4"
    keep.write_bytes(b"precious")
    r = CliRunner().invoke(main, ["webcam", "--source", str(src), "--no-window", "--record", str(keep)])
    assert r.exit_code == 1 and "output exists" in r.stderr and keep.read_bytes() == b"precious"
    r = CliRunner().invoke(main, ["webcam", "--source", str(src), "--no-window", "--record", str(keep), "-y"])
    assert r.exit_code == 0, r.output
    with av.open(str(keep)) as c:
        assert len(list(c.decode(video=0))) == 2


def test_ctrl_c_ends_a_webcam_recording_and_keeps_it(tmp_path):
    # a headless camera recording only stops by Ctrl-C, which deleted everything it had recorded
    from truesight_video.engine import Sharpener
    from truesight_video.model import Identity
    from truesight_video.preview import run_webcam
    import torch

    src = make_clip(tmp_path / "cam.mp4", codec="libx264", frames=9, size=(64, 48))
    rec = tmp_path / "rec.mp4"

    def ctrl_c_after_four(n, fps):
        if n == 3:
            raise KeyboardInterrupt

    make = lambda size: Sharpener(Identity(), torch.device("cpu"), precision="fp32", frame_size=size)  # noqa: E731
    st = run_webcam(str(src), make, "identity", record=str(rec), window=False, on_frame=ctrl_c_after_four)
    assert st.interrupted and st.frames == 4
    with av.open(str(rec)) as c:
        assert len(list(c.decode(video=0))) == 4  # every frame shown before Ctrl-C
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("args,needle", [
    (["--source", "7", "--no-window"], "no camera at index 7"),
    (["--source", "/nonexistent/cam.mp4", "--no-window"], "not found"),
])
def test_webcam_errors_are_one_line(args, needle):
    r = CliRunner().invoke(main, ["webcam", *args])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == r.stderr.strip().splitlines()[0]
    assert needle in r.stderr and "Traceback" not in r.output


def test_webcam_without_display_suggests_headless(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    src = make_clip(tmp_path / "cam.mp4", codec="libx264", frames=2)
    r = CliRunner().invoke(main, ["webcam", "--source", str(src)])
    assert r.exit_code == 1 and "--no-window" in r.stderr


def test_preview_headless_saves_stills(tmp_path):
    src = make_clip(tmp_path / "clip.mkv", frames=5, size=(40, 30))
    r = CliRunner().invoke(main, ["preview", str(src), "--no-window", "--save-png", str(tmp_path / "png"),
                                  "--frames", "3"])
    assert r.exit_code == 0, r.output
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert len(pngs) == 3 and cv2.imread(str(pngs[0])).shape == (30, 80, 3)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_clips_are_shown_upright(tmp_path, rotation):
    # a phone's portrait clip showed sideways in the preview, its stills, synth --from video and teacher --from
    from truesight_video.media import iter_rgb

    src = make_clip(tmp_path / "phone.mp4", codec="libx264", size=(64, 48), frames=2, rotation=rotation)
    cap = cv2.VideoCapture(str(src))  # OpenCV applies the display matrix itself: an independent reference
    ok, bgr = cap.read()
    cap.release()
    assert ok and np.array_equal(next(iter(iter_rgb(src))), bgr[..., ::-1])
    r = CliRunner().invoke(main, ["preview", str(src), "--no-window", "--save-png", str(tmp_path / "png"),
                                  "--weights", "unsharp-placeholder", "--frames", "1"])
    assert r.exit_code == 0, r.output
    h, w = bgr.shape[:2]
    assert cv2.imread(str(next((tmp_path / "png").glob("*.png")))).shape == (h, 2 * w, 3)
