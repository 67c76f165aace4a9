"""The DMPHN teacher: matches its published reference figures, tiles big frames, scores like a
student in `eval`, and distills real frames into GoPro-layout pairs."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from media_factory import make_clip
from truesight_video.cli import main
from truesight_video.training import teacher as T
from truesight_video.training.data import find_pairs
from truesight_video.training.distill import distill

GOPRO = "data/gopro-sample/train/GOPR0372_07_00"
WEIGHTS = "teachers/dmphn_1_2_4"


def test_state_dict_keys_are_the_published_ones():
    enc, dec = T.Encoder().state_dict(), T.Decoder().state_dict()
    assert {k.split(".")[0] for k in enc} == {f"layer{i}" for i in (1, 2, 3, 5, 6, 7, 9, 10, 11)}
    assert {k.split(".")[0] for k in dec} == {f"layer{i}" for i in (13, 14, 16, 17, 18, 20, 21, 22, 24)}
    assert "layer2.0.weight" in enc and "layer2.2.weight" in enc and "layer16.weight" in dec
    n = sum(p.numel() for p in T.DMPHN().parameters())
    assert 5_000_000 < n < 6_000_000  # "about 5.4M parameters"


def test_any_size_comes_back_the_same_size():
    net = T.DMPHN().eval()
    with torch.inference_mode():
        y = net(torch.rand(1, 3, 37, 53))
    assert y.shape == (1, 3, 37, 53) and 0 <= y.min() and y.max() <= 1


def test_missing_weights_are_a_clear_error(tmp_path, monkeypatch):
    from truesight_video.errors import TruesightError

    monkeypatch.delenv(T.TEACHER_ENV, raising=False)
    with pytest.raises(TruesightError, match="--teacher DIR"):
        T.teacher_dir(None)
    (tmp_path / "encoder_lv1.pkl").write_bytes(b"x")
    with pytest.raises(TruesightError, match="lacks encoder_lv2.pkl"):
        T.teacher_dir(tmp_path)


def test_matches_the_reference_figure_on_a_real_frame(shared_dir):
    """teachers/README.md: frame 000107 of the shared sequence, 8-bit output, 30.47 dB."""
    from truesight_video.training.evaluate import evaluate_pairs

    net = T.load_teacher(shared_dir / WEIGHTS)
    pairs = [p for p in find_pairs([shared_dir / GOPRO], ("blur",)) if p.sharp.stem == "000107"]
    r = evaluate_pairs(net, pairs, torch.device("cpu"), baseline=False)
    assert r["psnr"] == pytest.approx(30.47, abs=0.02)
    assert r["input_psnr"] < 23.0


def test_frames_above_720p_run_in_tiles_close_to_a_whole_pass(shared_dir, monkeypatch):
    net = T.load_teacher(shared_dir / WEIGHTS)
    img = cv2.imread(str(shared_dir / GOPRO / "blur" / "000107.webp"))[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(img[:720, :1000])).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        whole = net(x)
        monkeypatch.setattr(T, "WHOLE_MAX_PIXELS", 500 * 500)  # force tiles of 768 with 64 px overlap
        tiled = net(x)
    mse = torch.mean((whole.mul(255).round() - tiled.mul(255).round()) ** 2).item()
    assert 10 * np.log10(255**2 / max(mse, 1e-9)) > 40


def test_eval_scores_the_teacher_like_a_student(shared_dir):
    r = CliRunner().invoke(main, ["eval", "--data", str(shared_dir / GOPRO), "--teacher", str(shared_dir / WEIGHTS),
                                  "--input", "blur", "--limit", "1", "--json", "-q", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["model"] == "dmphn-teacher" and d["n"] == 1 and d["gain_db"] > 5


class Halve(torch.nn.Module):
    """A stand-in teacher: darkens, so its outputs are recognisable."""

    def forward(self, x):
        return x * 0.5


def test_distill_writes_pairs_train_can_read(tmp_path):
    clip = make_clip(tmp_path / "real.mp4", codec="libx264", frames=6, size=(64, 48))
    img = np.full((30, 40, 3), 200, np.uint8)
    (tmp_path / "stills").mkdir()
    cv2.imwrite(str(tmp_path / "stills" / "a.png"), img)
    n = distill([clip, tmp_path / "stills"], tmp_path / "root", Halve(), torch.device("cpu"), every=2,
                progress=False)
    assert n == 3 + 1
    pairs = find_pairs([tmp_path / "root"], ("blur",), split="train")
    assert len(pairs) == 4
    still = [p for p in pairs if p.sequence == "DIST_stills"][0]
    blurry, sharp = cv2.imread(str(still.blurry)), cv2.imread(str(still.sharp))
    assert np.abs(sharp.astype(int) - blurry // 2).max() <= 1  # the target is the teacher's output


def test_distill_keeps_sources_of_one_name_apart_and_refuses_to_mix_runs(tmp_path):
    # a/x.png and b/x.png both wrote DIST_x/000000 (the second over the first) and counted 2 pairs
    from truesight_video.errors import TruesightError

    for d, level in (("a", 100), ("b", 200)):
        (tmp_path / d).mkdir()
        cv2.imwrite(str(tmp_path / d / "x.png"), np.full((30, 40, 3), level, np.uint8))
    srcs = [tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"]
    assert distill(srcs, tmp_path / "root", Halve(), torch.device("cpu"), progress=False) == 2
    pairs = find_pairs([tmp_path / "root"], ("blur",), split="train")
    assert sorted((p.sequence, int(cv2.imread(str(p.blurry))[0, 0, 0])) for p in pairs) == [
        ("DIST_x", 100), ("DIST_x_2", 200)]
    with pytest.raises(TruesightError, match="already holds pairs: -y replaces them"):
        distill(srcs[:1], tmp_path / "root", Halve(), torch.device("cpu"), progress=False)
    assert distill(srcs[1:], tmp_path / "root", Halve(), torch.device("cpu"), progress=False, overwrite=True) == 1
    assert int(cv2.imread(str(tmp_path / "root" / "train" / "DIST_x" / "blur" / "000000.png"))[0, 0, 0]) == 200


def test_teacher_command_without_weights_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(T.TEACHER_ENV, raising=False)
    clip = make_clip(tmp_path / "real.mkv", frames=2)
    r = CliRunner().invoke(main, ["teacher", "--from", str(clip), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and r.stderr.strip().startswith("error: no teacher weights")
    assert not (tmp_path / "o").exists()
