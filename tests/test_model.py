"""StudentCNN_v3 and MultiScaleStudent: shape handling, identity at init, tiling equals whole frame, safe checkpoints."""
from __future__ import annotations

import pytest
import torch

from truesight_video.checkpoint import load_model, read_checkpoint, save_checkpoint
from truesight_video.errors import TruesightError
from truesight_video.model import (MultiScaleConfig, MultiScaleStudent, StudentCNN_v3, StudentConfig, UnsharpMask,
                                   count_macs, count_params, run_tiled, tile_overlap)


@pytest.mark.parametrize("unshuffle", [1, 2, 4])
def test_any_size_and_identity_at_init(unshuffle):
    torch.manual_seed(0)
    m = StudentCNN_v3(StudentConfig(width=16, unshuffle=unshuffle)).eval()
    x = torch.rand(2, 3, 37, 51)
    y = m(x)
    assert y.shape == x.shape
    assert torch.allclose(y, x.clamp(1e-4, 1 - 1e-4), atol=1e-5)  # zero-initialised tail


@pytest.mark.parametrize("unshuffle,dc", [(1, 0), (2, 0), (4, 0), (4, 16)])
def test_tiled_equals_whole_frame(unshuffle, dc):
    torch.manual_seed(0)
    m = StudentCNN_v3(StudentConfig(width=8, unshuffle=unshuffle, dc_window=dc)).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.1)
    x = torch.rand(1, 3, 150, 410)
    overlap = tile_overlap(m)
    tile = 2 * overlap + 8 * m.config.align
    with torch.no_grad():
        assert (run_tiled(m, x, tile, overlap) - m(x)).abs().max() < 1e-3


def test_dc_window_keeps_local_means():
    torch.manual_seed(0)
    m = StudentCNN_v3(StudentConfig(width=8, unshuffle=2, dc_window=8)).eval()
    torch.nn.init.normal_(m.tail.weight, std=0.3)
    torch.nn.init.constant_(m.tail.bias, -0.5)  # a strong darkening bias
    x = torch.rand(1, 3, 64, 64) * 0.5 + 0.25
    with torch.no_grad():
        y = m(x)
        plain = StudentCNN_v3(StudentConfig(width=8, unshuffle=2))
        plain.load_state_dict(m.state_dict())
        z = plain.eval()(x)
    assert (z - x).mean().abs() > 0.05  # without it the colour shifts
    assert (y - x).mean().abs() < 0.005  # with it the mean stays
    assert not torch.allclose(y, x, atol=1e-3)  # and detail still changes


def test_output_in_unit_range():
    m = StudentCNN_v3(StudentConfig(width=8)).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=1.0)
    y = m(torch.rand(1, 3, 20, 20))
    assert y.min() >= 0 and y.max() <= 1


def test_unsharp_sharpens_an_edge():
    x = torch.zeros(1, 3, 16, 16)
    x[..., 8:] = 0.5
    y = UnsharpMask()(x)
    assert y[..., 7].mean() < 0.0 + 1e-6 and y[..., 8].mean() > 0.5  # overshoot on both sides of the edge
    assert torch.equal(y[..., :4], x[..., :4])


def test_checkpoint_round_trip(tmp_path):
    m = StudentCNN_v3(StudentConfig(width=12, dilations=(1, 2, 3, 4, 2, 1), unshuffle=2))
    torch.nn.init.normal_(m.tail.weight, std=0.01)
    p = tmp_path / "m.pt"
    save_checkpoint(p, m, meta={"steps": 3})
    ck = read_checkpoint(p)
    assert ck["config"]["unshuffle"] == 2 and ck["meta"]["steps"] == 3
    m2 = load_model(p)
    x = torch.rand(1, 3, 24, 24)
    assert torch.equal(m.eval()(x), m2(x))
    assert count_params(m2) == count_params(m)


def test_load_errors(tmp_path):
    with pytest.raises(TruesightError, match="unknown model"):
        load_model("nope")
    bad = tmp_path / "bad.pt"
    torch.save({"format": "other"}, bad)
    with pytest.raises(TruesightError, match="not a TrueSight checkpoint"):
        load_model(bad)


def _random_multiscale(width: int = 8, dc: int = 0) -> MultiScaleStudent:
    torch.manual_seed(0)
    m = MultiScaleStudent(MultiScaleConfig(width=width, dc_window=dc)).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return m


def test_multiscale_any_size_identity_at_init_and_unit_range():
    m = MultiScaleStudent(MultiScaleConfig(width=8)).eval()
    x = torch.rand(2, 3, 37, 51)
    assert torch.allclose(m(x), x.clamp(1e-4, 1 - 1e-4), atol=1e-5)  # zero-initialised tail
    y = _random_multiscale()(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert not torch.allclose(y, x, atol=1e-2)


def test_multiscale_radius_covers_receptive_field():
    m = _random_multiscale()
    x = torch.rand(1, 3, 256, 256, requires_grad=True)
    m(x)[0, :, 128, 128].sum().backward()
    rows, cols = (x.grad[0].abs().sum(0) > 0).nonzero().unbind(1)
    reach = max(128 - int(rows.min()), int(rows.max()) - 128, 128 - int(cols.min()), int(cols.max()) - 128)
    assert 40 < reach <= m.config.radius


@pytest.mark.parametrize("dc", [0, 16])
def test_multiscale_tiled_equals_whole_frame(dc):
    m = _random_multiscale(dc=dc)
    x = torch.rand(1, 3, 150, 410)
    overlap = tile_overlap(m)
    assert overlap % m.config.align == 0
    with torch.no_grad():
        assert (run_tiled(m, x, 2 * overlap + 4 * m.config.align, overlap) - m(x)).abs().max() < 1e-3


def test_multiscale_within_budget_and_checkpoint_round_trip(tmp_path):
    m = MultiScaleStudent(MultiScaleConfig(width=32))
    assert count_params(m) <= 600_000
    assert count_macs(m) < count_macs(StudentCNN_v3(StudentConfig(width=96, unshuffle=4)))
    small = _random_multiscale(dc=16)
    save_checkpoint(tmp_path / "ms.pt", small)
    assert read_checkpoint(tmp_path / "ms.pt")["arch"] == "MultiScaleStudent"
    x = torch.rand(1, 3, 30, 44)
    assert torch.equal(small(x), load_model(tmp_path / "ms.pt")(x))


def test_multiscale_config_errors():
    with pytest.raises(ValueError, match="multiple of 8"):
        MultiScaleConfig(dc_window=12)
