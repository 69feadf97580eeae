#!/bin/sh
# Benchmark of the models (issues 2, 11): G forward (train / eval mode) and one full training step at
# the reference's c32 and i128 configurations, c32s (c32 at ch 8, batch 8: overhead-bound) and, when
# asked for, fm32 (the embedded default's model), ours
# (bench_models, in float32 and with --amp bf16, each alone or with our model options: "+cl"
# channels-last, "+fold" resampling folded into the convolutions) against BigGAN-PyTorch (bench_models_ref.py,
# imported from REF_DIR, float32) on this machine in the same run, the same thread count and the
# same reference flags. Prints per configuration and precision our seconds per call, the
# reference's and the ratio ours / reference, with the range of the timed calls; --json prints the
# JSON lines instead.
# Usage: bench/bench_models.sh BUILD_DIR [--configs "c32 c32s i128"] [--amps "off bf16 off+cl bf16+cl+fold"] [--threads 2]
#          [--warmup 2] [--repeats 5] [--rounds 1] [--ref REF_DIR] [--ref-heap] [--ref-blas1] [--json]
# Ours keeps freed tensor memory mapped (libbiggan/util/tensor_memory.h; BIGGAN_MALLOC=system in the
# environment turns that off for ours); --ref-heap gives the reference the same malloc policy through
# GLIBC_TUNABLES, to show which part of the difference is that policy. Ours runs OpenBLAS with one
# thread (libbiggan/util/blas_threads.h; BIGGAN_BLAS_THREADS=system keeps OpenBLAS's own count);
# --ref-blas1 gives the reference the same through OPENBLAS_NUM_THREADS=1.
# REF_DIR defaults to $BIGGAN_REFERENCE, then ../ref/biggan beside the repository.
# Needs /usr/bin/python3 with torch (Debian's python3-torch). With --rounds R each side runs R
# times, alternating, and the table shows the median over rounds (steadier on a shared machine).
# The CPUs may be shared: the table also shows process CPU seconds and the median of per-round
# ratios. BENCH_MODELS_SAVE=FILE keeps the JSON lines (bench_models_table.py FILE reprints the table).
set -eu
[ $# -ge 1 ] || { sed -n '2,19p' "$0" >&2; exit 2; }
BUILD=$(cd "$1" && pwd); shift
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${BIGGAN_REFERENCE:-$HERE/../../ref/biggan}
CONFIGS="c32 c32s i128"; AMPS="off bf16 off+cl bf16+cl"; THREADS=2; WARMUP=2; REPEATS=5; ROUNDS=1; JSON=0; REF_ENV=""
while [ $# -gt 0 ]; do
  case $1 in
    --configs) CONFIGS=$2; shift 2 ;;
    --amps) AMPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --ref) REF=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    --ref-heap) REF_ENV="$REF_ENV GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"; shift ;;
    --ref-blas1) REF_ENV="$REF_ENV OPENBLAS_NUM_THREADS=1"; shift ;;
    *) echo "bench_models.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$BUILD/bench_models" ] || { echo "bench_models.sh: no $BUILD/bench_models (cmake --build $BUILD --target bench_models)" >&2; exit 1; }
[ -f "$REF/train_fns.py" ] || { echo "bench_models.sh: no BigGAN-PyTorch checkout at $REF (--ref or BIGGAN_REFERENCE)" >&2; exit 1; }
REF=$(cd "$REF" && pwd)

OUT=$(mktemp)
trap 'rm -f "$OUT" "$OUT.err"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; ours BIGGAN_MALLOC=${BIGGAN_MALLOC:-heap} BIGGAN_BLAS_THREADS=${BIGGAN_BLAS_THREADS:-1}, reference${REF_ENV:- with glibc's and OpenBLAS's defaults}" >&2
for name in $CONFIGS; do
  flags=$("$BUILD/bench_models" --print-flags "$name")
  round=1
  while [ "$round" -le "$ROUNDS" ]; do
    # Odd rounds run ours first, even rounds the reference first (drifting load hits both alike).
    [ $((round % 2)) = 1 ] && order="ours reference" || order="reference ours"
    for impl in $order; do
      echo "== $name round $round: $impl ($(cut -d' ' -f1 /proc/loadavg) load)" >&2
      if [ "$impl" = ours ]; then
        for variant in $AMPS; do
          # A variant is an amp with our options after it: bf16+cl+fold.
          amp=${variant%%+*}; speedups=""
          case "+$variant+" in *+cl+*) speedups="$speedups --channels-last" ;; esac
          case "+$variant+" in *+fold+*) speedups="$speedups --fold-resample" ;; esac
          # shellcheck disable=SC2086  # the speedups are words, none is none
          OMP_NUM_THREADS=$THREADS "$BUILD/bench_models" --config "$name" --amp "$amp" $speedups --threads "$THREADS" \
            --warmup "$WARMUP" --repeats "$REPEATS" >> "$OUT"
        done
      else
        # shellcheck disable=SC2086  # the flags are words
        env $REF_ENV OMP_NUM_THREADS=$THREADS /usr/bin/python3 "$HERE/bench_models_ref.py" "$REF" "$name" "$THREADS" "$WARMUP" "$REPEATS" -- $flags >> "$OUT" 2> "$OUT.err" \
          || { cat "$OUT.err" >&2; exit 1; }  # the reference's construction chatter only on failure
      fi
    done
    round=$((round + 1))
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ -z "${BENCH_MODELS_SAVE:-}" ] || cp "$OUT" "$BENCH_MODELS_SAVE"

if [ "$JSON" = 1 ]; then cat "$OUT"; exit 0; fi
/usr/bin/python3 "$HERE/bench_models_table.py" "$OUT"
