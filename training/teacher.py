"""The real teacher: DMPHN (1-2-4), Zhang et al. CVPR 2019, "Deep Stacked Hierarchical Multi-patch
Network for Image Deblurring", written from the paper and its published state-dict keys.

The GoPro weights carry no licence: they are read from a folder outside the package (never shipped)
and used for measuring (a realism meter for synthetic blur) and for making training targets."""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import TruesightError, first_line

TEACHER_ENV = "TRUESIGHT_TEACHER"
PARTS = ("encoder_lv1", "encoder_lv2", "encoder_lv3", "decoder_lv1", "decoder_lv2", "decoder_lv3")
# whole frames up to 720p fit in a few hundred MB; larger ones run in overlapping tiles
WHOLE_MAX_PIXELS = 1280 * 720
TILE, TILE_OVERLAP = 768, 64


def _block(c: int) -> nn.Sequential:
    """conv, ReLU, conv (added to its input by the caller), keyed `.0` and `.2` like the original."""
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))


class Encoder(nn.Module):
    """3 -> 128 channels at 1/4 resolution."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Conv2d(3, 32, 3, padding=1)
        self.layer2, self.layer3 = _block(32), _block(32)
        self.layer5 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.layer6, self.layer7 = _block(64), _block(64)
        self.layer9 = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        self.layer10, self.layer11 = _block(128), _block(128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(x)
        x = x + self.layer2(x)
        x = x + self.layer3(x)
        x = self.layer5(x)
        x = x + self.layer6(x)
        x = x + self.layer7(x)
        x = self.layer9(x)
        x = x + self.layer10(x)
        return x + self.layer11(x)


class Decoder(nn.Module):
    """128 channels at 1/4 resolution -> 3 channels at full resolution (no final activation)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer13, self.layer14 = _block(128), _block(128)
        self.layer16 = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)
        self.layer17, self.layer18 = _block(64), _block(64)
        self.layer20 = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.layer21, self.layer22 = _block(32), _block(32)
        self.layer24 = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.layer13(x)
        x = x + self.layer14(x)
        x = self.layer16(x)
        x = x + self.layer17(x)
        x = x + self.layer18(x)
        x = self.layer20(x)
        x = x + self.layer21(x)
        x = x + self.layer22(x)
        return self.layer24(x)


class DMPHN(nn.Module):
    """DMPHN 1-2-4: level 3 sees four quarters, level 2 two halves, level 1 the whole image; each
    level's decoder output refines the next one's input. RGB in [0,1] -> RGB in [0,1]."""

    def __init__(self) -> None:
        super().__init__()
        for name in PARTS:
            self.add_module(name, Encoder() if name.startswith("encoder") else Decoder())

    def _forward8(self, x: torch.Tensor) -> torch.Tensor:
        """One pass on an image whose sides are multiples of 8, in the network's [-0.5, 0.5]."""
        x = x - 0.5
        h, w = x.shape[-2:]
        top, bot = x[..., : h // 2, :], x[..., h // 2 :, :]
        tl, tr, bl, br = (self.encoder_lv3(t[..., s]) for t in (top, bot)
                          for s in (slice(None, w // 2), slice(w // 2, None)))
        f3_top, f3_bot = torch.cat((tl, tr), 3), torch.cat((bl, br), 3)
        f3_all = torch.cat((f3_top, f3_bot), 2)
        r3_top, r3_bot = self.decoder_lv3(f3_top), self.decoder_lv3(f3_bot)
        f2 = torch.cat((self.encoder_lv2(top + r3_top), self.encoder_lv2(bot + r3_bot)), 2) + f3_all
        r2 = self.decoder_lv2(f2)
        f1 = self.encoder_lv1(x + r2) + f2
        return (self.decoder_lv1(f1) + 0.5).clamp(0.0, 1.0)

    def _whole(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad = (0, (-w) % 8, 0, (-h) % 8)
        xp = F.pad(x, pad, mode="replicate") if any(pad) else x
        return self._forward8(xp)[..., :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h * w <= WHOLE_MAX_PIXELS:
            return self._whole(x)
        # overlapping tiles, each keeping its centre: the patch hierarchy follows each tile, so the
        # result is close to (not equal to) a whole-frame pass, at a bounded memory cost
        out = torch.empty_like(x)
        step = TILE - 2 * TILE_OVERLAP
        for y0 in range(0, h, step):
            for x0 in range(0, w, step):
                ys, xs = max(0, y0 - TILE_OVERLAP), max(0, x0 - TILE_OVERLAP)
                ye, xe = min(h, y0 + step + TILE_OVERLAP), min(w, x0 + step + TILE_OVERLAP)
                y = self._whole(x[..., ys:ye, xs:xe])
                hh, ww = min(step, h - y0), min(step, w - x0)
                out[..., y0 : y0 + hh, x0 : x0 + ww] = y[..., y0 - ys : y0 - ys + hh, x0 - xs : x0 - xs + ww]
        return out


def teacher_dir(path: str | os.PathLike | None = None) -> Path:
    """The teacher's weights folder: path, else $TRUESIGHT_TEACHER; a clear error when neither."""
    name = path or os.environ.get(TEACHER_ENV)
    if not name:
        raise TruesightError(f"no teacher weights: pass --teacher DIR (the folder with {PARTS[0]}.pkl ...) "
                             f"or set {TEACHER_ENV}")
    d = Path(name)
    missing = [p for p in PARTS if not (d / f"{p}.pkl").is_file()]
    if missing:
        raise TruesightError(f"teacher folder {d} lacks {', '.join(m + '.pkl' for m in missing)}")
    return d


def load_teacher(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> DMPHN:
    """DMPHN with the published weights from a folder of six state dicts (loaded weights_only)."""
    d = teacher_dir(path)
    model = DMPHN()
    for part in PARTS:
        try:
            state = torch.load(d / f"{part}.pkl", map_location="cpu", weights_only=True)
            getattr(model, part).load_state_dict(state)
        except Exception as e:  # pickle, zip or key errors: one line naming the file
            raise TruesightError(f"cannot load teacher weights {d / (part + '.pkl')}: {first_line(e)[:160]}") from None
    return model.to(device).eval()
