#!/bin/sh
# One point of a recipe sweep for the embedded default (docs/recipe-sweep.md): trains the default
# recipe with the given gan-train flags on top (later flags win; --amp auto as in Makefile.pipeline)
# for a fixed wall-clock budget, then
# prints the yardstick's curve: per test, minutes since the start, conditional accuracy, the weakest
# class, classifier-FID and its ratio to the real-vs-real floor. The data and the classifier come
# from Makefile.pipeline in OUT and are reused by every point (made once).
#
#   bench/sweep_recipe.sh [-m MINUTES] [-o OUT] [-b BUILD] [-t THREADS] NAME [gan-train flags ...]
#   bench/sweep_recipe.sh -m 20 old                                  # the default recipe as it is
#   bench/sweep_recipe.sh -m 20 ndsteps1 --num_D_steps 1 --G_lr 1e-4 --D_lr 4e-4
#
# At the budget gan-train gets SIGINT: it saves and stops (exit 130), which here is success. The
# curve is also written to OUT/sweep/NAME/curve.tsv.
set -eu
MINUTES=20 OUT=out BUILD=build THREADS=0
while getopts m:o:b:t: opt; do
  case $opt in
    m) MINUTES=$OPTARG ;; o) OUT=$OPTARG ;; b) BUILD=$OPTARG ;; t) THREADS=$OPTARG ;;
    *) echo "usage: $0 [-m MINUTES] [-o OUT] [-b BUILD] [-t THREADS] NAME [gan-train flags ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "$0: a name for this point is needed (see the header)" >&2; exit 2; }
NAME=$1; shift
case $NAME in *[!A-Za-z0-9_.-]*|'') echo "$0: name '$NAME': letters, digits, _ . - only" >&2; exit 2 ;; esac
case $MINUTES in ''|*[!0-9]*|0) echo "$0: -m wants whole minutes > 0, got '$MINUTES'" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

DATA=$OUT/data/FMNIST32.hdf5 TESTDATA=$OUT/data/FMNIST32_test.hdf5 CLF=$OUT/classifier.pth
make -s -f Makefile.pipeline BUILD="$BUILD" OUT="$OUT" THREADS="$THREADS" "$DATA" "$TESTDATA" "$CLF" >&2
ROOT=$OUT/sweep/$NAME
[ ! -e "$ROOT" ] || { echo "$0: $ROOT exists: pick another name or remove it" >&2; exit 2; }
mkdir -p "$ROOT"
start=$(date +%s)
rc=0
timeout -s INT $((MINUTES * 60)) "$BUILD/gan-train" --flags-file pipelines/fashion_default.flags \
  --data_path "$DATA" --base_root "$ROOT" --experiment_name "$NAME" --classifier "$CLF" --eval_real "$TESTDATA" \
  --threads "$THREADS" --amp auto "$@" > "$ROOT/gan-train.out" 2> "$ROOT/gan-train.err" || rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 130 ] && [ $rc -ne 124 ]; then
  echo "$0: gan-train failed (exit $rc): $(tail -n 1 "$ROOT/gan-train.err")" >&2
  exit 1
fi
LOG=$ROOT/logs/${NAME}_log.jsonl
[ -s "$LOG" ] || { echo "$0: no test ran within $MINUTES minutes ($LOG is empty)" >&2; exit 1; }
bench/sweep_curve.sh "$LOG" "$start" "$NAME" | tee "$ROOT/curve.tsv"
