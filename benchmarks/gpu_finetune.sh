#!/usr/bin/env bash
# Continue the default weights' CPU fine-tunes on one GPU, with the same data recipe: the 30 real
# training pairs and the default `synth` recipe from the same 116 photos (Urban100 + Lomiri), in one
# device call of fixed length. Two steps:
#   here:  bash benchmarks/gpu_finetune.sh prep INIT.pt   # builds .gpudata/ (~50 MB, under the 64 MiB carry)
#   there: MIN=5 bash benchmarks/gpu_finetune.sh run      # device `run` with carry [".gpudata"]
# `prep` fits the data in the carry limit: photos re-encoded as JPEG q85 (synth softens and shrinks them),
# real pairs as WebP q100 (45 dB from the originals), the 12 held-out frames left out. `run` synthesizes
# 980 pairs on 14 cores (seeds 701-714, 65 s on an H200 host), then trains A (batch 8, as on the CPU) and
# B (batch 16) side by side from INIT for MIN minutes each, fp32, lr 2e-4 cosine to 1e-5, and exports both
# with the shipped dc_window into $OUT.
set -eu
case "${1:-}" in
prep)
  INIT=${2:?the weights to start from}
  G=${G:-../shared/data/gopro-sample}
  S=${S:-../shared/data/photos}
  rm -rf .gpudata && mkdir -p .gpudata
  python3 - "$G" "$S" <<'EOF'
import sys
from pathlib import Path

import cv2

from truesight_video.training.data import find_pairs, holdout_last

real, photos = Path(sys.argv[1]), Path(sys.argv[2])
train, _ = holdout_last(find_pairs([real], ("blur",), split="train"), 12)
for p in train:
    for kind, src in (("blur", p.blurry), ("sharp", p.sharp)):
        d = Path(".gpudata/real/train") / p.sequence / kind
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{src.stem}.webp"), cv2.imread(str(src)), [cv2.IMWRITE_WEBP_QUALITY, 100])
Path(".gpudata/photos").mkdir()
for sub in ("Urban100", "Lomiri_CC-BY"):
    for f in sorted((photos / sub).iterdir()):
        img = cv2.imread(str(f))
        if img is not None:
            cv2.imwrite(f".gpudata/photos/{sub}_{f.stem}.jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
EOF
  truesight-video export "$INIT" .gpudata/init.pt
  du -sh .gpudata
  ;;
run)
  export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
  TV="python3 cli.py"
  MIN=${MIN:-5}
  SYN=/tmp/syn
  nproc; nvidia-smi -L
  t0=$(date +%s)
  for i in $(seq 1 14); do  # one pinned core each (unpinned, thread pools crowd each other)
    OMP_NUM_THREADS=1 taskset -c $((i + 1)) timeout 150 $TV synth --from .gpudata/photos --out $SYN --count 70 \
      --seed $((700 + i)) -q > /tmp/synth_$i.log 2>&1 || echo "synth $i failed: $(tail -c 200 /tmp/synth_$i.log)" &
  done
  wait
  echo "synth: $(ls $SYN/train/*/sharp | grep -c png) pairs in $(( $(date +%s) - t0 )) s"
  mkdir -p /tmp/runs
  one() {
    local name=$1; shift
    OMP_NUM_THREADS=4 timeout $(( MIN * 60 + 100 )) $TV train --data .gpudata/real --data $SYN --input blur \
      --device cuda --precision fp32 --steps 100000 --max-minutes "$MIN" --val-every 100000 --crop 256 \
      --lr-min 1e-5 --init .gpudata/init.pt --out /tmp/runs/$name -q "$@" > /tmp/runs/$name.log 2>&1 || true
    echo "$name: $(tail -c 400 /tmp/runs/$name.log)"
    $TV export /tmp/runs/$name/last.pt "$OUT/$name.pt" --dc-window 32 --summary "gpu_finetune.sh run $name" 2>&1 | tail -1
    cp /tmp/runs/$name/train_log.csv "$OUT/$name.csv"
  }
  one A --mix 0.5,0.5 --batch-size 8 --lr 2e-4 --seed 21 &
  one B --mix 0.5,0.5 --batch-size 16 --lr 2e-4 --seed 22 &
  wait
  ;;
*)
  echo "usage: bash benchmarks/gpu_finetune.sh prep INIT.pt | run" >&2
  exit 2
  ;;
esac
