"""Widen a MultiScaleStudent checkpoint without changing what it computes: each new output channel gets a
fresh initialisation, every weight from a new channel into an old one is zero (so training can grow them).

    python benchmarks/widen.py runs/ftL2/step_014000.pt 48 runs/w48_init.pt
    truesight-video train ... --width 48 --init runs/w48_init.pt ...

Used for the capacity check in benchmarks/QUALITY.md (ftW48)."""
import sys

import torch

from truesight_video.checkpoint import read_checkpoint, save_checkpoint
from truesight_video.model import build_student

src, width, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ck = read_checkpoint(src)
old = build_student("MultiScaleStudent", **ck["config"])
old.load_state_dict(ck["state_dict"])
torch.manual_seed(0)
new = build_student("MultiScaleStudent", width=width, dc_window=ck["config"].get("dc_window", 0))
before = old.state_dict()
with torch.no_grad():
    for name, p in new.named_parameters():
        o = before[name]
        if p.dim() == 4:
            co, ci = o.shape[:2]
            p[:, ci:] = 0  # nothing reaches an old channel from a new one
            if not name.startswith("tail"):
                p[co:, ci:].normal_(0, 0.02)
            p[:co, :ci] = o  # new channels read the old ones through their fresh initialisation
        else:
            p[: o.shape[0]] = o
            p[o.shape[0]:] = 0
x = torch.rand(1, 3, 128, 160)
with torch.no_grad():
    diff = (old(x) - new(x)).abs().max().item()
assert diff < 1e-5, f"widening changed the output by {diff}"
save_checkpoint(out, new, meta={"widened_from": src, "width": width})
print(f"wrote {out}: width {ck['config']['width']} -> {width}, output unchanged (max difference {diff:.1e})")
