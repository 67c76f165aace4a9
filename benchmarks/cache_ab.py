"""The training data path's time a step (decode + crops, no model) with ftC3's mix, the image cache as it was
(4,096 images, least recently used out) against the byte budget that replaced it (training/data.py):
    DATA=/path/to/training/roots python benchmarks/cache_ab.py
DATA holds syn2 ... syn7, made by the commands in truesight_video/weights/MODEL_CARD.md."""
import os
import time
from functools import lru_cache
from truesight_video.training import data
from truesight_video.training.data import find_pairs, holdout_last, sample_batch, ImageCache, default_cache_bytes
from truesight_video.stills import read_rgb

D = os.environ.get("DATA", "data")
roots = ["../shared/data/gopro-sample"] + [f"{D}/{s}" for s in "syn2 syn3 syn2c syn2 syn3 syn4 syn5 syn4 syn5 syn6 syn7".split()]
inputs = "blur,blur,blur,blur,blur_gamma,blur_gamma,blur,blur,blur_gamma,blur_gamma,blur,blur".split(",")
mix = [0.40, 0.055, 0.055, 0.05, 0.05, 0.05, 0.065, 0.065, 0.035, 0.035, 0.07, 0.07]
groups = []
for r, i in zip(roots, inputs):
    pairs = find_pairs([r], (i,))
    groups.append(holdout_last(pairs, 12)[0] if "gopro" in r else pairs)

def old(path):
    a = read_rgb(path); a.setflags(write=False); return a
old = lru_cache(maxsize=4096)(old)
new = ImageCache(default_cache_bytes())
for name, fn, warm in (("4,096-image LRU", old, 1500), ("byte budget", new.get, 3000)):
    data.cached_rgb = fn
    t = time.perf_counter()
    for s in range(warm):
        sample_batch(groups, mix, 8, 256, 0, s)
    w = time.perf_counter() - t
    t = time.perf_counter()
    n = 400
    for s in range(100000, 100000 + n):
        sample_batch(groups, mix, 8, 256, 0, s)
    print(f"{name}: warm-up {warm} steps {w:.0f} s; then {1000 * (time.perf_counter() - t) / n:.1f} ms a step (batch 8, 256 px)", flush=True)
