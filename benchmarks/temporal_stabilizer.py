"""A temporal filter on the correction, measured before it is built into the product: where the input
barely changes from the previous frame, blend this frame's correction (output - input) with the previous
frame's filtered one, weight beta * exp(-(change / tau)^2), change the largest channel's in levels.

Run from the repo root beside ../shared: python benchmarks/temporal_stabilizer.py WEIGHTS...
Prints, per weights and (beta, tau), the gain on the 12 held-out real frames and on all 42, and eval's
flicker keys over the 42 in order."""
import json, sys
import torch, torch.nn as nn
from truesight_video.checkpoint import load_model
from truesight_video.training.data import find_pairs, holdout_last
from truesight_video.training.evaluate import evaluate_pairs, one_input_per_frame


class CorrectionFilter:
    """Frames in order: (input, model output) -> filtered output, both (1,3,H,W) in [0,1]."""
    def __init__(self, beta, tau):
        self.beta, self.tau = beta, tau; self.px = self.ps = None
    def __call__(self, x, out):
        c = out - x
        if self.beta > 0 and self.px is not None and self.px.shape == x.shape:
            d = (x - self.px).abs().amax(1, keepdim=True) * 255
            w = self.beta * torch.exp(-(d / self.tau) ** 2)
            c = c + w * (self.ps - c)
        self.px, self.ps = x, c
        return (x + c).clamp(0, 1)


class Stab(nn.Module):
    def __init__(self, m, beta, tau):
        super().__init__(); self.m, self.f = m, CorrectionFilter(beta, tau)
    def forward(self, x):
        return self.f(x, self.m(x))


# (beta, tau); beta 0 is the model alone. QUALITY.md reports the first three for each weights, all for the shipped.
SETTINGS = ((0, 1), (0.5, 3), (0.7, 3), (0.7, 2), (0.7, 5), (0.85, 3), (0.85, 5))


def main():
    torch.set_grad_enabled(False)
    G = "../shared/data/gopro-sample"
    allp = one_input_per_frame(find_pairs([G], ("blur",)), ("blur",))
    last = holdout_last(allp, 12)[1]
    for w in sys.argv[1:]:
        m = load_model(w)
        for beta, tau in SETTINGS:
            r42 = evaluate_pairs(Stab(m, beta, tau), allp, torch.device("cpu"), baseline=False)
            r12 = evaluate_pairs(Stab(m, beta, tau), last, torch.device("cpu"), baseline=False)
            print(w, beta, tau, json.dumps({"real12_gain": round(r12["psnr"] - r12["input_psnr"], 3),
                  "all42_gain": round(r42["psnr"] - r42["input_psnr"], 3),
                  **{k: round(v, 3) for k, v in r42.items() if k.startswith("flicker")}}), flush=True)


if __name__ == "__main__":
    main()
