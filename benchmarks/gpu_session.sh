#!/usr/bin/env bash
# Every CUDA figure the open GPU items need, in one call on a GPU machine, saved under $OUT.
# Carry PyAV as a wheel in .whl (see RESULTS.md; nothing else is missing there now); run from the repo root:
#   bash benchmarks/gpu_session.sh
set -u
OUT=${OUT:-/tmp/truesight-gpu}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
tv() { python3 cli.py "$@"; }
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import torch, av; print('torch', torch.__version__, 'av', av.__version__)"; } 2>&1 | tee "$OUT/env.txt"
python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/test_cuda.log" | tail -15
for preset in medium veryfast; do
  tv bench --device cuda --size 1920x1080 --seconds 10 --preset "$preset" --json 2>&1 | tee -a "$OUT/bench.log"
done
tv bench --device cuda --size 3840x2160 --seconds 5 --preset medium --json 2>&1 | tee -a "$OUT/bench.log"
python3 -c "from truesight_video.media import write_test_clip; write_test_clip('/tmp/cam640.mp4', 640, 480, 10)"
tv webcam --source /tmp/cam640.mp4 --no-window --device cuda --json 2>&1 | tee "$OUT/webcam.log"
