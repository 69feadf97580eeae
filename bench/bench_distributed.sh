#!/bin/sh
# Scaling of gan-train over processes (issue 10): iterations/s for 1 and 2 processes (Gloo, 1 thread
# each) at 64x64 with --G_ch 32 --D_ch 32 (big enough that communication matters), and the share of
# the 2-process loop spent in all-reduces (rank 0's own report).
# Usage: bench/bench_distributed.sh BUILD_DIR [WORK_DIR=/tmp/bench_distributed]
# Env: ITERS (default 12), BATCH (global batch, default 16). The startup is taken out by timing
# ITERS and 2 iterations and dividing the difference. On a shared machine the numbers are noisy.
set -eu
BUILD=$(cd "$1" && pwd)
WORK=${2:-/tmp/bench_distributed}
HERE=$(cd "$(dirname "$0")" && pwd)
ITERS=${ITERS:-12}
BATCH=${BATCH:-16}
mkdir -p "$WORK"
DATA="$WORK/random64.hdf5"
if [ ! -f "$DATA" ]; then
  /usr/bin/python3 - "$DATA" <<'PY'
import sys, h5py, numpy as np
rng = np.random.default_rng(0)
with h5py.File(sys.argv[1], "w") as f:
    f["imgs"] = rng.integers(0, 256, size=(512, 3, 64, 64), dtype=np.uint8)
    f["labels"] = (np.arange(512) % 10).astype(np.int64)
PY
fi

run() {  # run NPROC ITR: wall seconds of one run
  rm -rf "$WORK/run"
  start=$(date +%s.%N)
  OMP_NUM_THREADS=1 LAUNCH_LOG_DIR="$WORK/logs" "$HERE/../scripts/launch-local.sh" "$1" "$BUILD/gan-train" \
    --dataset I64_hdf5 --data_path "$DATA" --n_classes 10 --base_root "$WORK/run" --experiment_name bench \
    --batch_size "$BATCH" --G_ch 32 --D_ch 32 --shuffle --total_itr "$2" --save_every 100000 --test_every 100000 \
    --sv_log_interval 100000 --num_save_copies 0 --num_best_copies 0 --no_sheets --threads 1 --loader_threads 1 \
    --cross_replica --device cpu
  end=$(date +%s.%N)
  echo "$start $end" | awk '{printf "%.3f", $2 - $1}'
}

echo "gan-train at 64x64, --G_ch 32 --D_ch 32, global batch $BATCH, 1 thread per process, $ITERS iterations"
for n in 1 2; do
  short=$(run "$n" 2)
  long=$(run "$n" "$ITERS")
  share=$(grep -h "in collectives" "$WORK/logs/rank0.log" | sed 's/.*(\([0-9.]*%\).*/\1/' || true)
  echo "$n $short $long $ITERS ${share:-}" | awk '{ips = ($4 - 2) / ($3 - $2);
    printf "%d process(es): %.3f it/s (%.2f s/it)%s\n", $1, ips, 1 / ips, ($5 != "" ? ", all-reduce share " $5 : "")}'
done
