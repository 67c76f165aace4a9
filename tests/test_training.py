"""Training machinery: data layout, synthesis, loss terms, the loop, resume, DDP and evaluation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from truesight_video.checkpoint import load_model, read_checkpoint
from truesight_video.errors import ParameterError, TruesightError
from truesight_video.cli import main
from truesight_video.model import Identity
from truesight_video.training import synth
from truesight_video.training.data import find_pairs, holdout_last, sample_batch
from truesight_video.training.evaluate import evaluate_pairs
from truesight_video.training.losses import LossConfig, ProductLoss, ms_ssim, msssim_scales, sobel_edge_l1
from truesight_video.training.train import TrainConfig, train


def _photos(d: Path, n: int = 3, size: int = 96) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.resize(rng.integers(0, 255, (12, 12, 3)).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
        cv2.putText(img, str(i), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
        cv2.imwrite(str(d / f"p{i}.png"), img)
    return d


@pytest.fixture(scope="module")
def gopro(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("gopro")
    photos = _photos(base / "photos")
    cfg = synth.SynthConfig(width=64, height=64, max_blur=0.15, sharp_fraction=0.0)
    synth.synthesize(photos, base / "root", 8, seed=1, cfg=cfg, split="train", per_sequence=4, progress=False)
    synth.synthesize(photos, base / "root", 3, seed=2, cfg=cfg, split="test", progress=False)
    return base / "root"


def test_synth_writes_the_exact_layout(gopro):
    seqs = sorted((gopro / "train").iterdir())
    assert [s.name for s in seqs] == ["SYNT0001_00_00", "SYNT0001_01_00"]
    for s in seqs:
        assert sorted(p.name for p in s.iterdir()) == ["blur", "blur_gamma", "sharp"]
        assert sorted(p.name for p in (s / "sharp").iterdir()) == [f"{i:06d}.png" for i in range(4)]
    assert len(find_pairs([gopro], ("blur_gamma",), split="train")) == 8
    assert len(find_pairs([gopro], ("blur", "blur_gamma"), split="test")) == 6


def test_synth_blur_is_the_average_of_its_subframes():
    rng_img = np.random.default_rng(3)
    photo = cv2.resize(rng_img.integers(0, 255, (8, 8, 3)).astype(np.uint8), (64, 48))
    cfg = synth.SynthConfig(width=64, height=48, sharp_fraction=0.0, noise=0.0, jpeg_prob=0.0, highlight_prob=0.0,
                            object_prob=0.0, soften=0.0)
    subs, gamma = synth.render_subframes(photo, np.random.default_rng(5), cfg)
    pair = synth.make_pair(photo, np.random.default_rng(5), cfg)
    assert len(subs) % 2 == 1 and len(subs) >= 7
    expect_gamma = synth.to8(synth.encode(subs.mean(0), gamma))
    expect_blur = synth.to8(synth.encode(subs, gamma).mean(0))
    assert np.abs(pair["blur_gamma"].astype(int) - expect_gamma).max() <= 1
    assert np.abs(pair["blur"].astype(int) - expect_blur).max() <= 1
    assert np.abs(pair["sharp"].astype(int) - synth.to8(synth.encode(subs[len(subs) // 2], gamma))).max() <= 1
    # the centre sub-frame is the photo itself (identity warp), so sharp is the photo
    assert np.abs(pair["sharp"].astype(int) - photo).max() <= 1


def test_min_blur_bounds_the_camera_path_and_it_is_sampled_densely():
    cfg = synth.SynthConfig(width=200, height=100, min_blur=0.05, max_blur=0.06)
    diag = float(np.hypot(200, 100))
    for seed in range(20):
        m = synth._path(np.random.default_rng(seed), cfg, 200, 100)
        ends = m[[0, -1], :, 2]  # translations of the first and last sub-frame
        length = np.hypot(*(ends[1] - ends[0]))
        assert length > 0.5 * 0.05 * diag  # the bend can shorten it a little
        assert len(m) >= cfg.substeps * 0.05 * diag  # continuous motion: several samples per pixel
        steps = np.hypot(*np.diff(m[:, :, 2], axis=0).T)
        assert steps.max() <= 0.5  # no gap between samples: blur, not ghosted copies


def test_softening_makes_the_sharp_frame_the_photo_through_camera_optics():
    rng_img = np.random.default_rng(3)
    photo = cv2.resize(rng_img.integers(0, 255, (8, 8, 3)).astype(np.uint8), (64, 48))
    cfg = synth.SynthConfig(width=64, height=48, sharp_fraction=1.0, noise=0.0, highlight_prob=0.0, soften=0.7)
    pair = synth.make_pair(photo, np.random.default_rng(0), cfg)
    soft = cv2.GaussianBlur(photo.astype(np.float32) / 255, (0, 0), 0.7)
    assert np.abs(pair["sharp"].astype(int) - synth.to8(soft)).max() <= 1


def test_layout_variants_and_any_extension(tmp_path):
    seq = tmp_path / "myseq"
    for sub in ("blur", "sharp"):
        (seq / sub).mkdir(parents=True)
    img = np.zeros((8, 8, 3), np.uint8)
    for stem in ("a7", "b12", "c3"):
        cv2.imwrite(str(seq / "blur" / f"{stem}.webp"), img)
        cv2.imwrite(str(seq / "sharp" / f"{stem}.png"), img)
    assert len(find_pairs([seq], ("blur",))) == 3  # ROOT is one sequence
    assert len(find_pairs([tmp_path], ("blur",))) == 3  # ROOT holds sequences
    train, val = holdout_last(find_pairs([seq], ("blur",)), 1)
    assert [p.sharp.stem for p in val] == ["c3"] and len(train) == 2
    from truesight_video.errors import TruesightError
    with pytest.raises(TruesightError, match="choose one with --input"):
        find_pairs([seq], ("blur_gamma",))


def test_unpadded_frame_numbers_keep_time_order(tmp_path):
    # Text order put 10.png before 2.png: the held-out "last" frames and the order frames met the
    # temporal filter and the flicker measure in eval were wrong for sequences without zero padding
    from truesight_video.training.evaluate import one_input_per_frame

    seq = tmp_path / "clip"
    for sub in ("blur", "sharp"):
        (seq / sub).mkdir(parents=True)
    img = np.zeros((8, 8, 3), np.uint8)
    for i in range(1, 13):
        cv2.imwrite(str(seq / "blur" / f"{i}.png"), img)
        cv2.imwrite(str(seq / "sharp" / f"{i}.png"), img)
    pairs = find_pairs([seq], ("blur",))
    assert [p.sharp.stem for p in pairs] == [str(i) for i in range(1, 13)]
    assert [p.sharp.stem for p in one_input_per_frame(pairs, ("blur",))] == [str(i) for i in range(1, 13)]
    train, val = holdout_last(pairs, 2)
    assert [p.sharp.stem for p in val] == ["11", "12"] and len(train) == 10


def test_loss_terms_match_hand_computed_values():
    x = torch.zeros(1, 1, 8, 8)
    y = torch.zeros(1, 1, 8, 8)
    y[..., 4:] = 1.0  # a vertical step edge
    # Sobel x response at the edge columns is 4 (=1+2+1) per pixel in 2 columns of 8 rows; y response 0
    expected_edge = (2 * 8 * 4.0) / (2 * 64)
    assert sobel_edge_l1(x, y).item() == pytest.approx(expected_edge)
    loss = ProductLoss(LossConfig(alpha=0.8, edge_weight=1.0))
    a = torch.rand(1, 3, 64, 64)
    b = (a + 0.05 * torch.randn_like(a)).clamp(0, 1)
    t = loss.terms(a, b)
    assert t["mse"].item() == pytest.approx(((a - b) ** 2).mean().item())
    total = 0.8 * t["mse"] + 0.2 * (1 - t["msssim"]) + 1.0 * t["edge"]
    assert loss(a, b).item() == pytest.approx(total.item())
    assert ms_ssim(a, a, 3).item() == pytest.approx(1.0, abs=1e-6)
    assert msssim_scales(256) == 5 and msssim_scales(128) == 4 and msssim_scales(64) == 3


def test_small_crops_still_work_with_fewer_scales(caplog):
    a = torch.rand(2, 3, 48, 48)
    assert torch.isfinite(ProductLoss()(a, a.flip(-1)))


def _cfg(gopro: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=(str(gopro),), out=str(out), steps=20, batch_size=2, crop=48, lr=1e-3, width=8, arch="StudentCNN_v3",
                unshuffle=2, dilations=(1, 2, 2, 2, 2, 1), device="cpu", progress=False, val_max=2, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_training_reduces_the_loss_and_writes_its_files(gopro, tmp_path):
    out = tmp_path / "run"
    torch.manual_seed(0)
    groups = [find_pairs([gopro], ("blur_gamma", "blur"), split="train")]
    x, y = sample_batch(groups, [1.0], 4, 48, seed=99, step=0)
    loss = ProductLoss()
    before = loss(load_model_init(gopro, tmp_path)(x), y).item()
    final = train(_cfg(gopro, out, steps=40, val_every=20))
    after = loss(load_model(out / "last.pt")(x), y).item()
    assert after < before
    names = {p.name for p in out.iterdir()}
    assert {"last.pt", "best.pt", "train_log.csv", "train_log.png"} <= names
    assert final["step"] == 40 and "root_test_psnr" in final
    rows = (out / "train_log.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and rows[0].startswith("step,epoch,train_loss")
    ck = read_checkpoint(out / "best.pt")
    assert ck["meta"]["train"]["crop"] == 48 and ck["meta"]["git"]
    for p in out.glob("*.pt"):
        load_model(p)  # every checkpoint there loads with --weights


def load_model_init(gopro, tmp_path):
    out = tmp_path / "init"
    train(_cfg(gopro, out, steps=1, lr=1e-12))
    return load_model(out / "last.pt")


def test_resume_continues_exactly(gopro, tmp_path):
    train(_cfg(gopro, tmp_path / "straight", steps=20))
    train(_cfg(gopro, tmp_path / "split", steps=10))
    train(_cfg(gopro, tmp_path / "split", steps=20, resume=True))
    a = read_checkpoint(tmp_path / "straight" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "split" / "last.pt")["state_dict"]
    assert read_checkpoint(tmp_path / "split" / "last.pt")["step"] == 20
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_ema_checkpoints_hold_the_average_and_resume_exactly(gopro, tmp_path):
    train(_cfg(gopro, tmp_path / "plain", steps=6, lr=1e-3))
    train(_cfg(gopro, tmp_path / "straight", steps=6, lr=1e-3, ema=0.5))
    train(_cfg(gopro, tmp_path / "split", steps=3, lr=1e-3, ema=0.5))
    train(_cfg(gopro, tmp_path / "split", steps=6, lr=1e-3, ema=0.5, resume=True))
    plain = read_checkpoint(tmp_path / "plain" / "last.pt")["state_dict"]
    a, b = (read_checkpoint(tmp_path / d / "last.pt") for d in ("straight", "split"))
    for k in plain:  # the weights trained are the plain run's; the checkpoint holds their average
        assert torch.allclose(a["raw_state_dict"][k], plain[k], atol=1e-6), k
        assert torch.allclose(a["state_dict"][k], b["state_dict"][k], atol=1e-6), k
        assert torch.allclose(a["raw_state_dict"][k], b["raw_state_dict"][k], atol=1e-6), k
    assert any(not torch.allclose(a["state_dict"][k], plain[k]) for k in plain)
    assert "EMA 0.5" in a["meta"]["summary"]
    with pytest.raises(ParameterError, match="ema"):
        _cfg(gopro, tmp_path / "x", steps=2, ema=1.0)


def test_max_minutes_stops_the_run_saved_and_annealed(gopro, tmp_path):
    out = tmp_path / "timed"
    final = train(_cfg(gopro, out, steps=100_000, val_every=50_000, lr=1e-3, lr_min=1e-5, max_minutes=0.01))
    ck = read_checkpoint(out / "last.pt")
    assert 0 < ck["step"] < 100_000 and final["step"] == ck["step"]
    assert final["lr"] < 1e-4  # the clock, not the 100,000 steps, drove the cosine down
    # the stopping step's own checkpoint, named by epoch where it ends one
    assert {read_checkpoint(p)["step"] for p in out.glob("*.pt") if p.stem not in ("last", "best")} == {ck["step"]}
    with pytest.raises(ParameterError, match="max_minutes"):
        _cfg(gopro, out, steps=10, max_minutes=0)


def test_eval_caps_psnr_when_output_equals_sharp(gopro):
    pairs = find_pairs([gopro], ("sharp",), split="test")
    r = evaluate_pairs(Identity(), pairs, torch.device("cpu"))
    assert r["n"] == 3 and r["psnr"] == 100.0 and r["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert r["input_psnr"] == 100.0 and r["unsharp_psnr"] < 100.0


def test_eval_cli_json_and_save(gopro, tmp_path):
    r = CliRunner().invoke(main, ["eval", "--data", str(gopro), "--json", "-q", "--save", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("n", "psnr", "ssim", "input_psnr", "input_ssim", "unsharp_psnr", "unsharp_ssim"):
        assert key in res
    assert res["n"] == 3
    saved = list((tmp_path / "s").glob("*.png"))
    assert len(saved) == 3 and cv2.imread(str(saved[0])).shape == (64, 192, 3)


def test_synth_and_eval_write_into_a_folder_whose_name_is_not_utf8(gopro, tmp_path):
    # cv2.imwrite crashed the process (SIGSEGV, no message) on a Latin-1 folder name such as caf\xe9
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    try:
        folder.mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this filesystem takes UTF-8 names only")
    photos = _photos(tmp_path / "photos", n=1, size=64)
    for args in (["synth", "--from", photos, "--out", folder / "pairs", "--count", "1", "--size", "64x64", "-q"],
                 ["eval", "--data", gopro, "--save", folder / "saved", "-q"]):
        r = subprocess.run([sys.executable, "-m", "truesight_video.cli", *map(str, args)], capture_output=True)
        assert r.returncode == 0, r.stderr
    assert len(list((folder / "pairs").rglob("*.png"))) == 3
    assert len(list((folder / "saved").glob("*.png"))) == 3


def test_synth_train_eval_never_import_av(gopro, tmp_path):
    code = f"""
import sys
from click.testing import CliRunner
from truesight_video.cli import main
r = CliRunner()
out = r.invoke(main, ["synth", "--from", {str(_photos(tmp_path / 'ph', 1))!r}, "--out", {str(tmp_path / 's')!r}, "--count", "2", "--size", "48x48", "-q"])
assert out.exit_code == 0, out.output
out = r.invoke(main, ["train", "--data", {str(gopro)!r}, "--out", {str(tmp_path / 't')!r}, "--steps", "2", "--crop", "32", "--width", "8", "-q", "--device", "cpu"])
assert out.exit_code == 0, out.output
out = r.invoke(main, ["eval", "--data", {str(gopro)!r}, "--weights", {str(tmp_path / 't' / 'last.pt')!r}, "-q", "--json"])
assert out.exit_code == 0, out.output
assert "av" not in sys.modules, "PyAV was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True)


# `truesight-video train` under torchrun, with every call that writes into --out logged per rank
SPY = """
import os, sys
import truesight_video.training.train as t
calls = sys.argv.pop(1)
def spy(name, fn):
    def wrapped(*a, **k):
        with open(os.path.join(calls, "rank" + os.environ["RANK"]), "a") as f:
            f.write(name + "\\n")
        return fn(*a, **k)
    return wrapped
for name in ("save_checkpoint", "_write_csv", "_plot"):
    setattr(t, name, spy(name, getattr(t, name)))
from truesight_video.cli import main
main(sys.argv[1:], prog_name="truesight-video")
"""


def test_ddp_two_cpu_processes(gopro, tmp_path):
    spy, calls = tmp_path / "spy.py", tmp_path / "calls"
    spy.write_text(SPY)
    calls.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def torchrun(out: Path, steps: int, *more: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(spy),
               str(calls), "train", "--data", str(gopro), "--out", str(out), "--steps", str(steps), "--crop", "32",
               "--width", "8", "--device", "cpu", "--val-every", "2", "-q", *more]
        return subprocess.run(cmd, check=True, env=env, timeout=300, capture_output=True, text=True)

    first = torchrun(tmp_path / "ddp", 4)
    ck = read_checkpoint(tmp_path / "ddp" / "last.pt")
    assert ck["step"] == 4 and ck["meta"]["world_size"] == 2 and ck["meta"]["train"]["sampler"] == "epoch"
    lines = first.stdout.strip().splitlines()  # validation rows and the final metrics, from rank 0 alone
    assert [line.split()[0] for line in lines if line.startswith("step=")] == ["step=2", "step=4"]
    assert len([line for line in lines if line.startswith("{")]) == 1
    # resume under torchrun continues exactly: the same weights as a straight run of 8 steps
    torchrun(tmp_path / "ddp", 8, "--resume")
    torchrun(tmp_path / "straight", 8)
    a = read_checkpoint(tmp_path / "straight" / "last.pt")
    b = read_checkpoint(tmp_path / "ddp" / "last.pt")
    assert b["step"] == 8 and [r["step"] for r in b["history"]] == [2, 4, 6, 8]
    for k in a["state_dict"]:
        assert torch.allclose(a["state_dict"][k], b["state_dict"][k], atol=1e-6), k
    # checkpoints, the CSV log and its plot come from rank 0 only
    assert sorted(p.name for p in calls.iterdir()) == ["rank0"]
    assert {"save_checkpoint", "_write_csv", "_plot"} == set((calls / "rank0").read_text().split())
    rows = (tmp_path / "ddp" / "train_log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["2", "4", "6", "8"]


def test_epoch_sampler_shards_each_pass_across_ranks_and_reshuffles_it():
    from truesight_video.training.data import EpochSampler

    # one group of 24 pairs, 4 ranks x 3: each epoch (2 steps) every pair once, on exactly one rank
    s = EpochSampler([24], [1.0], batch_size=3, world=4, seed=7)
    epochs = [[s.picks(step, r) for step in (2 * e, 2 * e + 1) for r in range(4)] for e in range(3)]
    for epoch in epochs:
        flat = [i for batch in epoch for _, i in batch]
        assert sorted(flat) == list(range(24))
    orders = [[i for batch in e for _, i in batch] for e in epochs]
    assert orders[0] != orders[1] != orders[2]  # reshuffled every epoch
    # two groups mixed 0.6/0.4, 3 ranks x 2: in slot order each group's draws are whole passes, reshuffled
    s = EpochSampler([10, 7], [0.6, 0.4], batch_size=2, world=3, seed=1)
    draws: dict[int, list[int]] = {0: [], 1: []}
    for step in range(40):
        for r in range(3):
            for g, i in s.picks(step, r):
                draws[g].append(i)
    for g, n in ((0, 10), (1, 7)):
        passes = [draws[g][k:k + n] for k in range(0, len(draws[g]) - n + 1, n)]
        assert len(passes) >= 4 and all(sorted(p) == list(range(n)) for p in passes)
        assert len({tuple(p) for p in passes}) > 1
    assert 0.5 < len(draws[0]) / 240 < 0.7
    # a pure function of (seed, step, world): a fresh sampler (a resumed run) agrees, in any order
    fresh = EpochSampler([10, 7], [0.6, 0.4], batch_size=2, world=3, seed=1)
    assert fresh.picks(37, 2) == s.picks(37, 2) and fresh.picks(3, 1) == s.picks(3, 1)


def test_a_checkpoint_from_before_the_epoch_sampler_resumes_exactly(gopro, tmp_path):
    train(_cfg(gopro, tmp_path / "straight", steps=12, sampler="random"))
    train(_cfg(gopro, tmp_path / "old", steps=6, sampler="random"))
    for p in (tmp_path / "old").glob("*.pt"):  # as written before TrainConfig had a sampler
        ck = torch.load(p, weights_only=True)
        del ck["meta"]["train"]["sampler"]
        torch.save(ck, p)
    train(_cfg(gopro, tmp_path / "old", steps=12, resume=True))  # the default sampler is "epoch"
    a = read_checkpoint(tmp_path / "straight" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "old" / "last.pt")
    assert b["meta"]["train"]["sampler"] == "random"
    for k in a:
        assert torch.allclose(a[k], b["state_dict"][k], atol=1e-6), k


def test_export_strips_training_state_and_loads(gopro, tmp_path):
    out = tmp_path / "run"
    train(_cfg(gopro, out, steps=2))
    dst = tmp_path / "small.pt"
    r = CliRunner().invoke(main, ["export", str(out / "last.pt"), str(dst), "--summary", "tiny test model"])
    assert r.exit_code == 0, r.output
    ck = read_checkpoint(dst)
    assert "optimizer" not in ck and ck["meta"]["summary"] == "tiny test model"
    assert dst.stat().st_size < (out / "last.pt").stat().st_size
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(load_model(dst)(x), load_model(out / "last.pt")(x))


def test_export_refuses_an_existing_file_and_names_a_bad_path(gopro, tmp_path):
    # it replaced an existing file silently; a missing folder was "FileNotFoundError: ...part.pt"
    train(_cfg(gopro, tmp_path / "run", steps=1))
    last = tmp_path / "run" / "last.pt"
    keep = tmp_path / "keep.pt"
    keep.write_bytes(b"precious")
    for dst, needle in ((keep, "output exists"), (tmp_path / "nodir" / "o.pt", "output folder does not exist"),
                        (tmp_path / "run", "output is a directory")):
        r = CliRunner().invoke(main, ["export", str(last), str(dst)])
        assert r.exit_code == 1 and needle in r.stderr and ".part" not in r.stderr, r.output
    assert keep.read_bytes() == b"precious"
    assert CliRunner().invoke(main, ["export", str(last), str(keep), "-y"]).exit_code == 0
    assert read_checkpoint(keep)["state_dict"]


def test_synth_refuses_to_mix_two_runs_in_one_sequence(tmp_path):
    # a rerun into the same --out overwrote the pairs in place, mixing recipes where counts differ
    photos = _photos(tmp_path / "photos", n=1, size=64)
    args = ["synth", "--from", str(photos), "--out", str(tmp_path / "root"), "--size", "64x64", "-q"]
    assert CliRunner().invoke(main, [*args, "--count", "3"]).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--count", "2"])
    assert r.exit_code == 1 and "already holds pairs" in r.stderr, r.output
    assert CliRunner().invoke(main, [*args, "--count", "2", "-y"]).exit_code == 0
    assert len(find_pairs([tmp_path / "root"], ("blur",), split="train")) == 2  # not 2 new + 1 stale
    r = CliRunner().invoke(main, [*args, "--split", "val"])
    assert r.exit_code == 2 and "--split" in r.output and not (tmp_path / "root" / "val").exists()


def test_eval_last_scores_only_held_out_frames(gopro):
    r = CliRunner().invoke(main, ["eval", "--data", str(gopro / "train"), "--last", "1", "--json", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["n"] == 2  # one frame from each of 2 sequences


def test_synth_from_video_averages_consecutive_frames(tmp_path):
    from media_factory import make_clip
    from truesight_video.media import iter_rgb

    clip = make_clip(tmp_path / "hfr.mkv", frames=40, size=(48, 32), audio=0)
    n = synth.synthesize(clip, tmp_path / "root", 2, seed=0, progress=False)
    assert n == 2
    frames = [f.astype(np.float64) for f in iter_rgb(clip)]
    seq = tmp_path / "root" / "train" / "SYNT0000_00_00"
    blur0 = cv2.imread(str(seq / "blur" / "000000.png"))[..., ::-1].astype(np.float64)
    sharp0 = cv2.imread(str(seq / "sharp" / "000000.png"))[..., ::-1]
    k = next(k for k in (7, 9, 11, 13) if np.array_equal(sharp0, frames[k // 2]))  # group length
    assert np.abs(blur0 - np.mean(frames[:k], axis=0)).max() <= 1.0


def test_multiscale_arch_trains_exports_and_loads(gopro, tmp_path):
    out = tmp_path / "ms"
    r = CliRunner().invoke(main, ["train", "--data", str(gopro), "--out", str(out), "--steps", "3", "--crop", "48",
                                  "--width", "4", "--arch", "MultiScaleStudent", "--device", "cpu", "-q"])
    assert r.exit_code == 0, r.output
    dst = tmp_path / "ms_dc.pt"
    r = CliRunner().invoke(main, ["export", str(out / "last.pt"), str(dst), "--dc-window", "16"])
    assert r.exit_code == 0, r.output
    m = load_model(dst)
    assert type(m).__name__ == "MultiScaleStudent" and m.config.dc_window == 16
    assert read_checkpoint(dst)["meta"]["arch"] == "MultiScaleStudent"
    r = CliRunner().invoke(main, ["export", str(out / "last.pt"), str(dst), "--dc-window", "12", "-y"])
    assert r.exit_code != 0 and "multiple of 8" in r.output


def test_scale_augmentation_shrinks_both_images_alike():
    from truesight_video.training.data import random_crop_pair

    rng0 = np.random.default_rng(0)
    img = rng0.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    a, b = random_crop_pair(img, img.copy(), 32, np.random.default_rng(5), scale_min=0.25)
    assert a.shape == b.shape == (32, 32, 3) and np.array_equal(a, b)
    plain = [random_crop_pair(img, img, 32, np.random.default_rng(k))[0] for k in range(3)]
    assert all(p.shape == (32, 32, 3) for p in plain)
    # a shrunk crop averages neighbouring pixels, so it is smoother than any plain crop of noise
    rough = lambda t: np.abs(np.diff(t.astype(int), axis=1)).mean()  # noqa: E731
    assert rough(a) < min(rough(p) for p in plain)


def test_synth_command_defaults_are_the_recipe_defaults():
    """The CLI spells the defaults out (so parsing needs no torch); they must stay the measured recipe."""
    cmd = main.commands["synth"]
    flags = {p.name: p.default for p in cmd.params}
    cfg = synth.SynthConfig()
    for name in ("sharp_fraction", "max_blur", "min_blur", "substeps", "curve", "rotation", "soften",
                 "object_prob", "noise", "jpeg_prob"):
        assert flags[name] == getattr(cfg, name), name


def test_input_noise_touches_inputs_only_and_is_reproducible():
    from truesight_video.training.data import add_input_noise

    x = torch.full((4, 3, 32, 32), 128 / 255)
    a = add_input_noise(x, 3.0, seed=1, step=7)
    b = add_input_noise(x, 3.0, seed=1, step=7)
    c = add_input_noise(x, 3.0, seed=1, step=8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(x, torch.full_like(x, 128 / 255))  # the clean batch is left as it was
    noise = a * 255 - 128
    assert torch.allclose(noise, noise.round(), atol=1e-4)  # still 8-bit levels
    per_sample = noise.flatten(1).std(1)
    assert per_sample.max() < 3.0 * 1.15 + 0.3  # sigma at most 3 levels (plus rounding)
    assert per_sample.max() - per_sample.min() > 0.2  # each crop draws its own sigma


def test_input_noise_option_reaches_the_batches(gopro, tmp_path):
    from truesight_video.training.data import find_pairs
    from truesight_video.training.train import TrainConfig, batches_for

    pairs = find_pairs([gopro], ("blur_gamma",))
    clean = TrainConfig(data=(str(gopro),), out=str(tmp_path), crop=32, batch_size=2, seed=3)
    noisy = TrainConfig(data=(str(gopro),), out=str(tmp_path), crop=32, batch_size=2, seed=3, input_noise=2.0)
    x0, y0 = batches_for([pairs], clean, [1.0], 0, 1)(5)
    x1, y1 = batches_for([pairs], noisy, [1.0], 0, 1)(5)
    assert torch.equal(y0, y1) and not torch.equal(x0, x1)
    assert (x1 - x0).abs().max() * 255 <= 2.0 * 6 + 1
    with pytest.raises(ParameterError, match="input_noise"):
        TrainConfig(data=(str(gopro),), out=str(tmp_path), input_noise=-1.0)


def test_flicker_measures_the_sharp_frames_change_and_the_error_against_it():
    from truesight_video.training.evaluate import FLICKER_KEYS, _flicker

    in0 = np.full((2, 2, 3), 100, np.uint8)
    in1 = in0.copy()
    in1[0, 0] = 105  # this pixel moves: left out of every figure
    out0, sh0 = np.full_like(in0, 50), np.full_like(in0, 80)
    out1, sh1 = out0 + 1, sh0 + 3
    out1[0, 0], sh1[0, 0] = 200, 0
    means, n = _flicker((in0, out0, sh0), (in1, out1, sh1))
    assert n == 3
    assert dict(zip(FLICKER_KEYS, means.tolist())) == {
        "flicker_input": 0.0, "flicker_output": 1.0, "flicker_sharp": 3.0,
        "flicker_error_input": 3.0, "flicker_error_output": 2.0}


def test_eval_reports_flicker_against_the_sharp_frames(gopro):
    pairs = find_pairs([gopro], ("blur_gamma",), split="train")
    r = evaluate_pairs(Identity(), pairs, torch.device("cpu"), baseline=False)
    assert r["flicker_output"] == r["flicker_input"]
    assert r["flicker_error_output"] == r["flicker_error_input"] > 0


def test_a_new_run_into_a_finished_one_is_refused_without_y(gopro, tmp_path):
    # it silently replaced last.pt and the log, leaving the old run's step checkpoints among the new ones
    from truesight_video.errors import TruesightError

    out = tmp_path / "run"
    train(_cfg(gopro, out, steps=4, val_every=2))
    before = read_checkpoint(out / "last.pt")["step"]
    with pytest.raises(TruesightError, match="already holds a run"):
        train(_cfg(gopro, out, steps=1))
    assert read_checkpoint(out / "last.pt")["step"] == before == 4
    train(_cfg(gopro, out, steps=3, val_every=3, overwrite=True))
    assert sorted(p.name for p in out.glob("*.pt")) == ["best.pt", "last.pt", "step_000003.pt"]
    assert len((out / "train_log.csv").read_text().strip().splitlines()) == 2


def test_resume_refuses_an_option_that_would_change_the_run(gopro, tmp_path):
    # --resume took a new --lr (or --seed, --crop...) silently; a new --width failed in load_state_dict
    from truesight_video.errors import TruesightError

    out = tmp_path / "run"
    train(_cfg(gopro, out, steps=2))
    with pytest.raises(TruesightError, match=r"--lr 0\.001, now 0\.5"):
        train(_cfg(gopro, out, steps=4, resume=True, lr=0.5))
    with pytest.raises(TruesightError, match="--width 8, now 16"):
        train(_cfg(gopro, out, steps=4, resume=True, width=16))
    with pytest.raises(TruesightError, match="do not fit a StudentCNN_v3"):
        train(_cfg(gopro, tmp_path / "other", steps=1, width=16, init=str(out / "last.pt")))
    assert not (tmp_path / "other").exists()  # a run that fails to start leaves no empty --out behind
    train(_cfg(gopro, out, steps=4, resume=True, val_every=4))  # more steps: the one thing meant to change
    assert read_checkpoint(out / "last.pt")["step"] == 4


def test_a_pair_of_two_sizes_is_named(tmp_path):
    # crops were cut by the sharp image's size from both: training went on misaligned, eval died unnamed
    seq = tmp_path / "root" / "train" / "s"
    for sub in ("blur", "sharp"):
        (seq / sub).mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(seq / "blur" / f"{i:06d}.png"), np.zeros((96, 96, 3), np.uint8))
        cv2.imwrite(str(seq / "sharp" / f"{i:06d}.png"), np.zeros((64, 64, 3), np.uint8))
    r = CliRunner().invoke(main, ["train", "--data", str(tmp_path / "root"), "--out", str(tmp_path / "run"),
                                  "--steps", "1", "--crop", "32", "--width", "4", "-q"])
    assert r.exit_code == 1 and ".png is 96x96 but" in r.stderr and "is 64x64" in r.stderr, r.output
    r = CliRunner().invoke(main, ["eval", "--data", str(tmp_path / "root"), "--input", "blur", "-q",
                                  "--weights", "unsharp-placeholder"])
    assert r.exit_code == 1 and "a pair must be one size" in r.stderr and "Traceback" not in r.output


def test_best_is_kept_without_validation_whatever_the_loss(gopro, tmp_path):
    # the score of a run without validation is -train_loss, which never beat the starting -1 once the loss passed 1
    root = tmp_path / "root"
    (root / "train").mkdir(parents=True)
    os.symlink(next((gopro / "train").iterdir()), root / "train" / "s")
    final = train(_cfg(root, tmp_path / "run", steps=2, edge_weight=50.0))
    assert final["train_loss"] > 1 and (tmp_path / "run" / "best.pt").exists()


def test_two_validation_sets_of_one_name_are_both_kept(gopro, tmp_path):
    os.symlink(gopro, tmp_path / "root")
    (tmp_path / "x").mkdir()
    os.symlink(gopro, tmp_path / "x" / "root")
    final = train(_cfg(gopro, tmp_path / "run", steps=2, data=(str(tmp_path / "root"), str(tmp_path / "x" / "root"))))
    assert "root_test_psnr" in final and "root_test_2_psnr" in final


@pytest.mark.parametrize("args,needle", [(["--mix", "-1,2"], "--mix"), (["--mix", "0"], "--mix"),
                                         (["--dilations", "1.7,2.9"], "--dilations")])
def test_bad_training_numbers_are_named(gopro, tmp_path, args, needle):
    r = CliRunner().invoke(main, ["train", "--data", str(gopro), "--out", str(tmp_path / "run"), "--steps", "1",
                                  "--arch", "StudentCNN_v3", "-q", *args])
    assert r.exit_code == 1 and r.stderr.startswith(f"error: {needle}") and "Traceback" not in r.output, r.output


def test_each_data_root_can_train_on_its_own_input_folder(gopro, tmp_path):
    from truesight_video.training.train import training_data

    cfg = TrainConfig(data=(str(gopro), str(gopro)), out=str(tmp_path), inputs=("blur",),
                      data_inputs=(("blur",), ("blur_gamma", "blur")))
    groups, val_sets = training_data(cfg)
    assert {p.blurry.parent.name for p in groups[0]} == {"blur"}
    assert {p.blurry.parent.name for p in groups[1]} == {"blur", "blur_gamma"}
    assert {p.blurry.parent.name for p in val_sets["root_blur_gamma+blur_test"]} == {"blur_gamma"}
    assert {p.blurry.parent.name for p in val_sets["root_blur_test"]} == {"blur"}
    with pytest.raises(TruesightError, match="choose one with --data-inputs"):
        training_data(replace(cfg, data_inputs=(("blur",), ("blurry",))))
    with pytest.raises(ParameterError, match="data_inputs"):
        TrainConfig(data=(str(gopro),), out=str(tmp_path), data_inputs=("blur",))
    plain, _ = training_data(replace(cfg, data_inputs=()))
    assert [len(g) for g in plain] == [len(groups[0])] * 2
    r = CliRunner().invoke(main, ["train", "--data", str(gopro), "--data", str(gopro), "--out", str(tmp_path / "r"),
                                  "--data-inputs", "blur", "--steps", "1", "-q"])
    assert r.exit_code == 1 and r.stderr.startswith("error: --data-inputs") and "Traceback" not in r.output, r.output
    r = CliRunner().invoke(main, ["train", "--data", str(gopro), str(gopro), "--out", str(tmp_path / "r"), "--steps",
                                  "1", "--data-inputs", "blur,blur_gamma+blur", "--arch", "StudentCNN_v3", "--width",
                                  "8", "--crop", "48", "--device", "cpu", "-q"])
    assert r.exit_code == 0, r.output
    assert read_checkpoint(tmp_path / "r" / "last.pt")["meta"]["train"]["data_inputs"] == [["blur"], ["blur_gamma", "blur"]]


def test_resume_accepts_the_per_root_inputs_it_was_trained_with(gopro, tmp_path):
    cfg = _cfg(gopro, tmp_path / "run", steps=2, data=(str(gopro), str(gopro)),
               data_inputs=(("blur",), ("blur_gamma",)))
    train(cfg)
    train(replace(cfg, steps=3, resume=True, inputs=("sharp",)))  # --input now reads only --val roots
    with pytest.raises(TruesightError, match="input folders blur,blur_gamma .*, now blur_gamma,blur"):
        train(replace(cfg, steps=4, resume=True, data_inputs=(("blur_gamma",), ("blur",))))
    # a run saved before the option existed trained on --input for every root: resuming it with
    # --data-inputs that read other folders would change its data, with the same folders it would not
    last = tmp_path / "run" / "last.pt"
    ck = torch.load(last, weights_only=False)
    del ck["meta"]["train"]["data_inputs"]
    ck["meta"]["train"]["inputs"] = ["blur"]
    torch.save(ck, last)
    with pytest.raises(TruesightError, match="input folders blur,blur .*, now blur,blur_gamma"):
        train(replace(cfg, steps=4, resume=True))
    train(replace(cfg, steps=4, resume=True, data_inputs=(("blur",), ("blur",))))
    assert read_checkpoint(last)["step"] == 4
    train(replace(cfg, steps=5, resume=True, data_inputs=(), inputs=("blur",)))  # the same folders, as --input


def test_image_cache_keeps_the_most_recent_images_within_its_byte_budget(tmp_path):
    from truesight_video.training.data import ImageCache

    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), np.full((10, 20, 3), i * 40, np.uint8))
        paths.append(p)
    cache = ImageCache(max_bytes=3 * 10 * 20 * 3)  # room for three 10x20 RGB images
    first = cache.get(paths[0])
    assert not first.flags.writeable and first[0, 0, 0] == 0
    second, third = cache.get(paths[1]), cache.get(paths[2])
    assert cache.get(paths[0]) is first  # a hit: the same array, and 0 is now the most recent
    cache.get(paths[3])  # over budget: the least recently used (1) goes
    assert len(cache) == 3 and cache.bytes == 3 * 600
    assert cache.get(paths[2]) is third and cache.get(paths[0]) is first
    assert cache.get(paths[1]) is not second  # decoded again
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.zeros((40, 40, 3), np.uint8))
    assert cache.get(big).shape == (40, 40, 3) and len(cache) == 3  # too large to keep: the rest stays
    with pytest.raises(ValueError, match="max_bytes"):
        ImageCache(-1)


def test_image_cache_budget_is_shared_by_the_ranks_on_a_box(monkeypatch):
    from truesight_video.training import data

    monkeypatch.setattr(data, "_memory_bytes", lambda: 8 << 30)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert data.default_cache_bytes() == 4 << 30
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert data.default_cache_bytes() == 1 << 30
    monkeypatch.setattr(data, "_memory_bytes", lambda: 256 << 30)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert data.default_cache_bytes() == 16 << 30
