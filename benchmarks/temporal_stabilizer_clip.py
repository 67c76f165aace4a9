"""The temporal filter of temporal_stabilizer.py on a real clip without ground truth: how far the filtered
output strays from the model's own (mean, mean per-frame 99.9th percentile, max, in levels) and the
flicker where the input changes < 2 levels. Reads frames with OpenCV (a measurement, not the product path).

    python benchmarks/temporal_stabilizer_clip.py ../shared/realmedia/android_lowlight_vfr_rot180_shake.mp4 40
"""
import cv2, numpy as np, torch, sys
from truesight_video.checkpoint import load_model
torch.set_grad_enabled(False)
m = load_model("multiscale-student"); m.eval()
cap = cv2.VideoCapture(sys.argv[1]); frames = []
while len(frames) < int(sys.argv[2]):
    ok, f = cap.read()
    if not ok: break
    frames.append(f)
print(len(frames), frames[0].shape)
for beta, tau in ((0.5, 3), (0.7, 3), (0.85, 5)):
    px = ps = None; devs = []; fl_raw = []; fl_f = []; prev = None
    for f in frames:
        x = torch.from_numpy(f[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
        c = m(x) - x; raw = (x + c).clamp(0, 1)
        if px is not None:
            d = (x - px).abs().amax(1, keepdim=True) * 255
            w = beta * torch.exp(-(d / tau) ** 2); c = c + w * (ps - c)
        px, ps = x, c
        out = (x + c).clamp(0, 1)
        dv = ((out - raw).abs() * 255).flatten()
        devs.append((dv.mean().item(), torch.quantile(dv[::7], 0.999).item(), dv.max().item()))
        if prev is not None:
            st = ((x - prev[0]).abs().amax(1) * 255 < 2)
            fl_raw.append(((raw - prev[1]).abs() * 255).amax(1)[st].mean().item() if st.any() else 0)
            fl_f.append(((out - prev[2]).abs() * 255).amax(1)[st].mean().item() if st.any() else 0)
        prev = (x, raw, out)
    a = np.array(devs)
    print(beta, tau, "filtered-vs-model: mean %.3f, p99.9 mean %.2f, max %.1f levels; static-pixel flicker %.3f -> %.3f" % (a[:,0].mean(), a[:,1].mean(), a[:,2].max(), np.mean(fl_raw), np.mean(fl_f)))
