"""The shipped weights: load offline, sharpen a synthetic blurry pair, leave sharp content alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from truesight_video.checkpoint import (PLACEHOLDER, WEIGHTS_DIR, default_model_name, load_model, read_checkpoint,
                                        shipped_models)
from truesight_video.model import ARCHS, count_params

STUDENTS = sorted(n for n in shipped_models() if n != PLACEHOLDER)
from truesight_video.training import synth
from truesight_video.training.metrics import psnr, quantize


def _photo(h=192, w=256, seed=0):
    """Sharp test content: text, edges and texture, drawn in the test."""
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(40, 215, (12, 16, 3)).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    for i in range(6):
        cv2.putText(img, "EXIT 42", (10 + 20 * i, 30 + 30 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (250, 250, 250) if i % 2 else (20, 20, 20), 2, cv2.LINE_AA)
    return img


def _t(a):
    return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255


def test_default_is_a_shipped_trained_student_and_both_architectures_ship():
    name = default_model_name()
    assert name in STUDENTS and (WEIGHTS_DIR / f"{name}.pt").is_file()
    assert {type(load_model(n)).__name__ for n in STUDENTS} == set(ARCHS)
    for n in STUDENTS:
        assert count_params(load_model(n)) <= 600_000
        meta = read_checkpoint(WEIGHTS_DIR / f"{n}.pt")["meta"]
        assert meta.get("summary") and meta.get("train")


@pytest.mark.parametrize("name", STUDENTS)
def test_shipped_model_raises_psnr_on_a_synthetic_blurry_pair(name):
    model = load_model(name)
    cfg = synth.SynthConfig(width=256, height=192, sharp_fraction=0.0, noise=0.0, jpeg_prob=0.0,
                            highlight_prob=0.0, object_prob=0.0, max_blur=0.05)
    gains = []
    for seed in range(4):
        pair = synth.make_pair(_photo(seed=seed), np.random.default_rng(100 + seed), cfg)
        x, y = _t(pair["blur_gamma"]), _t(pair["sharp"])
        with torch.inference_mode():
            out = model(x)
        gains.append(psnr(quantize(out), quantize(y)) - psnr(quantize(x), quantize(y)))
    assert np.mean(gains) > 0.0, gains


@pytest.mark.parametrize("name", STUDENTS)
def test_shipped_model_does_no_harm_to_sharp_images(name):
    model = load_model(name)
    x = _t(_photo(seed=7))
    with torch.inference_mode():
        out = model(x)
    assert psnr(quantize(out), quantize(x)) >= 35.0
    shift = (quantize(out) - quantize(x)).mean(dim=(0, 2, 3)).abs().max().item()
    assert shift <= 1.0


@pytest.mark.parametrize("name", STUDENTS)
def test_shipped_model_gains_on_held_out_real_frames(shared_dir, name):
    """The last frames of the shared real GoPro sequence were held out of training."""
    from truesight_video.training.data import find_pairs, holdout_last
    from truesight_video.training.evaluate import evaluate_pairs, one_input_per_frame

    pairs = one_input_per_frame(find_pairs([shared_dir / "data" / "gopro-sample"], ("blur",)), ("blur",))
    r = evaluate_pairs(load_model(name), holdout_last(pairs, 3)[1], torch.device("cpu"), baseline=False)
    assert r["n"] == 3 and r["gain_db"] > 0.2 and r["ssim"] > r["input_ssim"]


def _cpu_runs_fp16_convs() -> bool:
    try:
        torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3, dtype=torch.half), torch.ones(1, 1, 1, 1, dtype=torch.half))
        return True
    except RuntimeError:  # torch before about 2.3 has no fp16 convolution on a CPU
        return False


@pytest.mark.skipif(not _cpu_runs_fp16_convs(), reason="this torch has no fp16 convolution on a CPU")
@pytest.mark.parametrize("name", STUDENTS)
def test_shipped_model_in_half_precision_matches_fp32(name):
    """CUDA runs the students in fp16 + channels_last; the same numerics run (slowly) on a CPU."""
    model = load_model(name)
    x = _t(_photo(h=96, w=128, seed=3))
    with torch.inference_mode():
        ref = model(x)
        half = model.half().to(memory_format=torch.channels_last)
        out = half(x.half().contiguous(memory_format=torch.channels_last)).float()
    assert torch.isfinite(out).all()
    assert (out - ref).abs().max().item() * 255 < 1.0
