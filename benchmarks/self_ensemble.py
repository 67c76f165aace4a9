"""Test-time self-ensemble of a shipped model (mean over flips/transposes), scored like `eval`.

Run from the repo root beside ../shared: python benchmarks/self_ensemble.py multiscale-student OTHER_DIR
(OTHER_DIR: the "other blur (moving)" set of benchmarks/QUALITY.md)."""
import json
import sys

import torch
import torch.nn as nn

from truesight_video.checkpoint import load_model
from truesight_video.training.data import find_pairs, holdout_last
from truesight_video.training.evaluate import evaluate_pairs, one_input_per_frame

class Ens(nn.Module):
    def __init__(self, m, n):
        super().__init__(); self.m, self.n = m, n
    def forward(self, x):
        outs = []
        for k in range(self.n):
            t = x
            if k & 1: t = t.flip(-1)
            if k & 2: t = t.flip(-2)
            if k & 4: t = t.transpose(-1, -2)
            y = self.m(t)
            if k & 4: y = y.transpose(-1, -2)
            if k & 2: y = y.flip(-2)
            if k & 1: y = y.flip(-1)
            outs.append(y)
        return torch.stack(outs).mean(0)

name = sys.argv[1]
sets = {
 "real": (["../shared/data/gopro-sample"], ("blur",), 12),
 "sharp": (["../shared/data/gopro-sample"], ("sharp",), 12),
 "other_moving": ([sys.argv[2]], ("blur",), None),
}
torch.set_grad_enabled(False)
m = load_model(name)
for n in (1, 2, 4, 8):
    row = {}
    for k, (roots, inp, last) in sets.items():
        pairs = one_input_per_frame(find_pairs(roots, inp), inp)
        if last: pairs = holdout_last(pairs, last)[1]
        r = evaluate_pairs(Ens(m, n), pairs, torch.device("cpu"), baseline=False)
        row[k] = round(r["psnr"], 3); row[k + "_in"] = round(r.get("input_psnr", 0), 3)
    print(n, json.dumps(row), flush=True)
