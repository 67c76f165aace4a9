"""The prototype sweep that chose synth's defaults: render blur recipes in a few lines (not through
`synth`), score the DMPHN teacher on them pair by pair (same photos, crops and motion seeds in every
variant). Run from the repo root with ../shared present:
    python benchmarks/realism/prototype.py benchmarks/realism/v3.json > v3.out.jsonl
The final recipe is then measured through the product: `synth` + `eval --teacher` (QUALITY.md)."""
import sys, json, time, math
import numpy as np, cv2, torch
from truesight_video.training.teacher import load_teacher
from truesight_video.training import synth
from truesight_video.training.metrics import psnr, quantize
from truesight_video.stills import read_rgb

torch.set_num_threads(2)
T = load_teacher('../shared/teachers/dmphn_1_2_4')
SRC = {'sun': synth.list_photos('../shared/data/photos/SunHays80'), 'urban': synth.list_photos('../shared/data/photos/Urban100')}

def subframes(lin, rm, v):
    h, w = lin.shape[:2]
    L = rm.uniform(*v['len_px'])
    ang = rm.uniform(0, 2 * np.pi)
    bend = rm.normal(0, 1, 2); rotn = rm.normal(0, 1); nd = int(rm.choice([7, 9, 11, 13]))
    d = np.array([np.cos(ang), np.sin(ang)]) * L
    if v.get('substeps', 4):
        n = max(nd, int(math.ceil(L * v.get('substeps', 4))) | 1)
    else:
        n = nd
    t = np.linspace(-0.5, 0.5, n)
    pos = d[None] * t[:, None]
    rot = np.zeros(n)
    if v.get('motion') == 'path':
        pos = pos + (bend * v.get('bend', 0.3) * L)[None] * (t[:, None] ** 2)
        rot = np.deg2rad(rotn * v.get('rot_deg', 0.5)) * t
    cx, cy = w / 2, h / 2
    subs = []
    for k in range(n):
        if k == n // 2:
            subs.append(lin); continue
        a = rot[k]; c, s = np.cos(a), np.sin(a)
        m = np.array([[c, -s, cx - c * cx + s * cy + pos[k, 0]], [s, c, cy - s * cx - c * cy + pos[k, 1]]])
        subs.append(cv2.warpAffine(lin, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101))
    return np.stack(subs)

def make(photo, rm, v):
    gamma = float(rm.uniform(2.0, 2.6))
    img = photo.astype(np.float32) / 255
    if v.get('soft'):
        img = cv2.GaussianBlur(img, (0, 0), v['soft'])
    lin = synth.decode(img, gamma).astype(np.float32)
    subs = subframes(lin, rm, v)
    if v.get('noise'):
        subs = np.stack([synth._noisy(s, rm, v['noise']) for s in subs])
    sharp = synth.to8(synth.encode(subs[len(subs) // 2], gamma))
    blur = synth.to8(synth.encode(subs, gamma).mean(0)) if v.get('avg', 'srgb') == 'srgb' else synth.to8(synth.encode(subs.mean(0), gamma))
    return blur, sharp

def crop(img, rp, W, H, scale):
    if scale != 1:
        img = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    ch, cw = min(H, h), min(W, w)
    y, x = int(rp.integers(0, h - ch + 1)), int(rp.integers(0, w - cw + 1))
    return img[y:y + ch, x:x + cw]

def run(v, n, seed=0):
    ins, outs = [], []
    t0 = time.time()
    photos = SRC[v.get('src', 'sun')]
    for i in range(n):
        rp = np.random.default_rng([seed, i, 0]); rm = np.random.default_rng([seed, i, 1])
        photo = crop(read_rgb(photos[int(rp.integers(0, len(photos)))]), rp, v.get('W', 640), v.get('H', 360), v.get('scale', 1))
        blur, sharp = make(photo, rm, v)
        x = torch.from_numpy(blur).permute(2, 0, 1)[None].float() / 255
        y = torch.from_numpy(sharp).permute(2, 0, 1)[None].float() / 255
        with torch.inference_mode():
            o = T(x)
        ins.append(psnr(quantize(x), quantize(y))); outs.append(psnr(quantize(o), quantize(y)))
    r = dict(v, n=n, input=round(float(np.mean(ins)), 3), teacher=round(float(np.mean(outs)), 3),
             gain=round(float(np.mean(outs) - np.mean(ins)), 3), per=[round(b - a, 2) for a, b in zip(ins, outs)],
             secs=round(time.time() - t0))
    print(json.dumps(r), flush=True)

cfg = json.loads(open(sys.argv[1]).read())
for v in cfg['variants']:
    run(v, cfg.get('n', 24))
