"""The temporal filter on the correction: what it blends, where it leaves the model alone, and that the
engine applies it in display order however many batches run at once."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
import torch.nn as nn

from truesight_video.colour import ColourSpec
from truesight_video.engine import Sharpener
from truesight_video.errors import TruesightError
from truesight_video.temporal import CorrectionFilter

CPU = torch.device("cpu")
L = 1 / 255  # one level


def _still(value: float = 0.5, size=(1, 3, 16, 24)) -> torch.Tensor:
    return torch.full(size, value)


def test_first_frame_and_strength_zero_pass_the_model_through():
    x, y = _still(), _still(0.6)
    assert torch.equal(CorrectionFilter(0.5)(x, y), y)
    off = CorrectionFilter(0.0)
    off(x, y)
    assert torch.equal(off(x, _still(0.7)), _still(0.7))


def test_still_input_blends_the_correction_with_the_previous_one():
    f = CorrectionFilter(0.5, limit=None)
    x = _still()
    f(x, x + 8 * L)
    out = f(x, x - 8 * L)  # the correction flipped on a still picture: flicker
    assert torch.allclose(out, x, atol=1e-6)  # halfway between +8 and -8 levels
    out = f(x, x - 8 * L)  # the blended correction (0) is what the next frame is pulled towards
    assert torch.allclose(out, x - 4 * L, atol=1e-6)


def test_a_changed_neighbourhood_leaves_the_model_alone():
    f = CorrectionFilter(0.5, window=5, limit=None)
    x0 = _still()
    f(x0, x0 + 8 * L)
    x1 = x0.clone()
    x1[..., 8, 12] += 20 * L  # one pixel changed by 20 levels: the gate opens 2 px around it
    y1 = x1 - 8 * L
    out = f(x1, y1)
    assert torch.allclose(out[..., 6:11, 10:15], y1[..., 6:11, 10:15], atol=1e-6)
    assert torch.allclose(out[..., 0, 0], x1[..., 0, 0], atol=1e-6)  # far away: blended


def test_the_blend_moves_a_correction_at_most_limit_levels():
    f = CorrectionFilter(0.5, limit=4)
    x = _still()
    f(x, x + 30 * L)
    out = f(x, x - 30 * L)
    assert torch.allclose(out, x - 28 * L, atol=1e-6)  # 0.5 * min(60, 4) levels towards the old one


def test_a_new_frame_size_or_reset_starts_afresh():
    f = CorrectionFilter(0.5)
    f(_still(), _still(0.6))
    y = _still(0.4, (1, 3, 8, 8))
    assert torch.equal(f(_still(size=(1, 3, 8, 8)), y), y)
    f.reset()
    assert torch.equal(f(_still(size=(1, 3, 8, 8)), y), y)


@pytest.mark.parametrize("bad, name", [({"strength": 1.0}, "temporal"), ({"strength": -0.1}, "temporal"),
                                       ({"strength": 0.5, "window": 4}, "window"), ({"strength": 0.5, "tau": 0}, "tau"),
                                       ({"strength": 0.5, "limit": 0}, "limit")])
def test_bad_settings_name_the_parameter(bad, name):
    with pytest.raises(TruesightError, match=name):
        CorrectionFilter(**bad)


class Jittery(nn.Module):
    """A model whose correction swings with sub-level changes of its input: flicker on a still scene."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 0.03 * torch.sin(x * 4000)).clamp(0, 1)


class SlowJittery(Jittery):
    """Jittery, and slow on some frames, so batches on worker threads finish out of order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if int(x.sum().item() * 255) % 2:
            time.sleep(0.03)
        return super().forward(x)


def _frames(n: int = 9, h: int = 16, w: int = 24) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(0)
    base = rng.integers(60, 180, (h, w))
    frames = []
    for k in range(n):
        y = (base + (rng.random((h, w)) < 0.3)).astype(np.uint8)  # sensor noise: 0 or 1 level
        frames.append((y, np.full((h // 2, w // 2), 128, np.uint8), np.full((h // 2, w // 2), 128, np.uint8)))
    return frames


def _sharpen(frames, spec, temporal, batch, workers):
    with Sharpener(SlowJittery(), CPU, precision="fp32", temporal=temporal, workers=workers) as eng:
        pending = [eng.submit(frames[i:i + batch], spec) for i in range(0, len(frames), batch)]
        return [p for job in pending for p in job.result()]


def _flicker(out):
    return np.mean([np.abs(b[0].astype(int) - a[0].astype(int)).mean() for a, b in zip(out, out[1:])])


def test_engine_filters_in_display_order_whatever_runs_at_once():
    frames, spec = _frames(), ColourSpec(bits=8)
    ref = _sharpen(frames, spec, 0.5, 1, 1)
    for batch, workers in ((3, 1), (1, 2), (2, 3)):
        got = _sharpen(frames, spec, 0.5, batch, workers)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(ref, got)), (batch, workers)
    raw = _sharpen(frames, spec, 0.0, 1, 1)
    assert _flicker(ref) < 0.8 * _flicker(raw)


class FailsOnWhite(Jittery):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0.9:
            raise RuntimeError("boom")
        return super().forward(x)


def test_a_failed_batch_passes_its_turn_on():
    frames, spec = _frames(4), ColourSpec(bits=8)
    frames[1] = (np.full_like(frames[1][0], 235),) + frames[1][1:]
    with Sharpener(FailsOnWhite(), CPU, precision="fp32", temporal=0.5, workers=2) as eng:
        jobs = [eng.submit([f], spec) for f in frames]
        results = []
        for job in jobs:  # a turn never passed on would hang here: the timeout fails the test instead
            try:
                results.append(job.future.result(timeout=30).result())
            except RuntimeError:
                results.append(None)
    assert results[1] is None and all(r is not None for r in results[:1] + results[2:])


def test_a_closed_engine_serves_its_abandoned_turns():
    frames, spec = _frames(6), ColourSpec(bits=8)
    eng = Sharpener(SlowJittery(), CPU, precision="fp32", temporal=0.5, workers=2)
    for f in frames:
        eng.submit([f], spec)  # never collected: close() cancels what has not started
    eng.close()
    got = []  # after close, submit runs on the calling thread: it must not wait for the lost turns
    t = threading.Thread(target=lambda: got.extend(eng.submit([frames[0]], spec).result()), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive() and got[0][0].shape == frames[0][0].shape


def test_sharpen_next_matches_the_filter_run_by_hand():
    x = torch.rand(1, 3, 16, 24)
    frames = [x + k * 0.2 * L for k in range(4)]
    with Sharpener(Jittery(), CPU, precision="fp32", temporal=0.5) as eng:
        got = [eng.sharpen_next(f) for f in frames]
    by_hand = CorrectionFilter(0.5)
    for f, g in zip(frames, got):
        assert torch.allclose(g, by_hand(f, Jittery()(f)), atol=1e-6)


def _still_clip(path, n=6, w=32, h=24):
    import av

    frames = _frames(n, h, w)
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for y, u, v in frames:
            f = av.VideoFrame(w, h, "yuv420p")
            for plane, a in zip(f.planes, (y, u, v)):
                plane.update(np.ascontiguousarray(a))
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_sharpen_video_filters_by_default_and_temporal_zero_turns_it_off(tmp_path):
    from media_factory import video_frames
    from truesight_video.pipeline import sharpen_video

    src = _still_clip(tmp_path / "still.mkv")
    outs = {}
    for t in (None, 0.0):
        dst = tmp_path / f"out{t}.mkv"
        kw = {} if t is None else {"temporal": t}
        sharpen_video(src, dst, model=Jittery(), device="cpu", precision="fp32", workers=2, progress=False, **kw)
        outs[t] = [planes for _, planes in video_frames(dst)]
    assert np.array_equal(outs[None][0][0], outs[0.0][0][0])  # the first frame has nothing to blend with
    assert _flicker(outs[None]) < 0.8 * _flicker(outs[0.0])


def test_eval_filters_each_sequence_in_order_from_a_fresh_start(tmp_path):
    import cv2

    from truesight_video.training.data import find_pairs
    from truesight_video.training.evaluate import evaluate_pairs

    for seq in ("SEQA_00_00", "SEQB_00_00"):
        for kind in ("blur", "sharp"):
            (tmp_path / seq / kind).mkdir(parents=True)
        for k, (y, _, _) in enumerate(_frames(4)):
            img = np.repeat(y[..., None], 3, -1)
            for kind in ("blur", "sharp"):
                cv2.imwrite(str(tmp_path / seq / kind / f"{k:06d}.png"), img)
    pairs = find_pairs([tmp_path], ("blur",))
    saved, flicker = {}, {}
    for t in (0.0, 0.7):
        d = tmp_path / f"saved{t}"
        r = evaluate_pairs(Jittery(), pairs, CPU, baseline=False, save_dir=d, temporal=t)
        saved[t] = {p.name: cv2.imread(str(p)) for p in sorted(d.glob("*.png"))}
        assert r["n"] == 8
        flicker[t] = r["flicker_output"]
    assert flicker[0.7] < 0.8 * flicker[0.0]
    for name, img in saved[0.0].items():
        same = np.array_equal(img, saved[0.7][name])
        assert same == name.endswith("000000.png"), name  # each sequence starts afresh


def test_eval_refuses_a_temporal_filter_on_the_teacher(tmp_path):
    # It used to be dropped silently: the teacher is scored as published, so an explicit --temporal is an error
    from click.testing import CliRunner

    from truesight_video.cli import main

    r = CliRunner().invoke(main, ["eval", "--data", str(tmp_path), "--teacher", str(tmp_path), "--temporal", "0.5"])
    assert r.exit_code == 1
    assert "--temporal" in r.output and "teacher" in r.output and "Traceback" not in r.output
