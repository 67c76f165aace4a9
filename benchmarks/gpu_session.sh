#!/usr/bin/env bash
# The CUDA checks and figures, in one call on a GPU machine, each log saved under $OUT; every step has
# its own time limit so one hang cannot eat the session. Carry PyAV as a wheel in .whl (RESULTS.md):
#   bash benchmarks/gpu_session.sh            (QUICK=1: 720p/1080p bench only, no 4K)
set -u
OUT=${OUT:-/tmp/truesight-gpu}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
TV="python3 cli.py"  # a variable, not a function: timeout runs programs
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import torch, av, cv2; print('torch', torch.__version__, 'av', av.__version__, 'cv2', cv2.__version__)"; } 2>&1 | tee "$OUT/env.txt"
# 1. the CUDA path against the CPU path
[ "${SKIP_TESTS:-0}" = 1 ] || timeout 240 python3 -m pytest -q -p no:cacheprovider -x tests/test_cuda.py tests/test_numerics.py 2>&1 | tee "$OUT/test_cuda.log" | tail -25
# 2. training on CUDA: bf16 autocast + channels_last (auto) against fp32, a short run on synthetic pairs
timeout 60 $TV synth --from samples/blurry.mp4 --out /tmp/syn --count 64 --seed 1 -q 2>&1 | tail -3
for p in fp32 auto; do
  timeout 90 $TV train --data /tmp/syn --device cuda --precision "$p" --steps 200 --val-every 200 --crop 256 \
    --batch-size 8 --seed 0 --out "/tmp/train_$p" -q 2>&1 | tail -2 | tee -a "$OUT/train.log"
done
# 3. throughput
timeout 150 $TV bench --device cuda --size 1920x1080 --seconds 5 --json 2>&1 | tee -a "$OUT/bench.log" | tail -12
timeout 90 $TV bench --device cuda --size 1280x720 --seconds 5 --json 2>&1 | tee -a "$OUT/bench.log" | tail -12
if [ "${QUICK:-0}" != 1 ]; then
  timeout 200 $TV bench --device cuda --size 3840x2160 --seconds 3 --json 2>&1 | tee -a "$OUT/bench.log" | tail -12
fi
python3 -c "from truesight_video.media import write_test_clip; write_test_clip('/tmp/cam640.mp4', 640, 480, 10)"
timeout 60 $TV webcam --source /tmp/cam640.mp4 --no-window --device cuda --json 2>&1 | tee "$OUT/webcam.log" | tail -3
