"""The product's temporal filter on a real clip without ground truth: how far the filtered output strays
from the model's own (mean, mean per-frame 99.9th percentile, max, in levels) and eval's output flicker
(`training.evaluate._flicker`) before and after. Reads frames with OpenCV (a measurement, not the product
path); the model runs once per frame and each setting filters the same outputs.

    python benchmarks/temporal_stabilizer_clip.py ../shared/realmedia/android_lowlight_vfr_rot180_shake.mp4 40
"""
import sys

import cv2
import numpy as np
import torch

from temporal_stabilizer import SETTINGS  # this folder is on sys.path when run as above
from truesight_video.checkpoint import load_model
from truesight_video.temporal import CorrectionFilter
from truesight_video.training.evaluate import _flicker


def to8(t):
    return (t[0] * 255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def main():
    torch.set_grad_enabled(False)
    m = load_model(sys.argv[3] if len(sys.argv) > 3 else "multiscale-student").eval()
    cap = cv2.VideoCapture(sys.argv[1]); frames = []
    while len(frames) < int(sys.argv[2]):
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f[..., ::-1].copy())
    print(len(frames), frames[0].shape)
    xs = [torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in frames]
    raws = [m(x) for x in xs]
    for setting in SETTINGS[1:]:
        filt = CorrectionFilter(*setting); devs = []; fl = np.zeros(2); n_all = 0; prev = None
        for f, x, raw in zip(frames, xs, raws):
            out = filt(x, raw); raw = raw.clamp(0, 1)
            dv = ((out - raw).abs() * 255).flatten()
            devs.append((dv.mean().item(), torch.quantile(dv[::7], 0.999).item(), dv.max().item()))
            cur = (f, to8(raw), to8(out))
            if prev is not None:  # the filtered output stands in eval's "sharp" slot: its flicker is key 2
                means, n = _flicker(prev, cur)
                fl, n_all = fl + means[1:3] * n, n_all + n
            prev = cur
        a = np.array(devs)
        print(setting, "filtered-vs-model: mean %.3f, p99.9 mean %.2f, max %.1f levels; flicker %.3f -> %.3f"
              % (a[:, 0].mean(), a[:, 1].mean(), a[:, 2].max(), *(fl / n_all)), flush=True)


if __name__ == "__main__":
    main()
