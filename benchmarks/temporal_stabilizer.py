"""The product's temporal filter (truesight_video/temporal.py) on the 42 shared real GoPro frames, per
setting: the gain on the 12 held-out frames and on all 42, and eval's flicker keys over the 42 in order.
The model runs once per frame; each setting filters the same outputs.

Run from the repo root beside ../shared: python benchmarks/temporal_stabilizer.py WEIGHTS...
(strength 0 is the model alone; `eval --temporal S` gives the same figures for one setting)."""
import json
import sys

import torch
import torch.nn as nn

from truesight_video.checkpoint import load_model
from truesight_video.temporal import CorrectionFilter
from truesight_video.training.data import find_pairs, holdout_last, read_rgb, to_tensor
from truesight_video.training.evaluate import evaluate_pairs, one_input_per_frame


class Replay(nn.Module):
    """Hands back stored model outputs in order, filtered: evaluate_pairs calls it once per pair."""
    def __init__(self, outputs, filt):
        super().__init__(); self.outputs, self.f, self.i = outputs, filt, 0
    def forward(self, x):
        y = self.outputs[self.i]; self.i += 1
        return self.f(x, y)


# (strength, tau, gate window, limit in levels): window 1 and no limit is the filter measured first;
# windows 5 and 9 without a limit cut flicker only 0.797 -> 0.770 / 0.783 on the 2026-11-29 weights
SETTINGS = ((0, 3, 1, None), (0.5, 3, 1, None), (0.5, 3, 1, 2), (0.5, 3, 1, 4), (0.5, 3, 3, 4), (0.7, 3, 1, 4),
            (0.85, 5, 1, 4))


def main():
    torch.set_grad_enabled(False)
    G = "../shared/data/gopro-sample"
    allp = one_input_per_frame(find_pairs([G], ("blur",)), ("blur",))
    n_last = 12
    last = holdout_last(allp, n_last)[1]
    for w in sys.argv[1:]:
        m = load_model(w).eval()
        outs = [m(to_tensor(read_rgb(p.blurry))[None]) for p in allp]
        for setting in SETTINGS:
            r42 = evaluate_pairs(Replay(outs, CorrectionFilter(*setting)), allp, torch.device("cpu"), baseline=False)
            r12 = evaluate_pairs(Replay(outs[-n_last:], CorrectionFilter(*setting)), last, torch.device("cpu"),
                                 baseline=False)
            print(w, *setting, json.dumps({"real12_gain": round(r12["gain_db"], 3), "all42_gain": round(r42["gain_db"], 3),
                  **{k: round(v, 3) for k, v in r42.items() if k.startswith("flicker")}}), flush=True)


if __name__ == "__main__":
    main()
