#!/usr/bin/env bash
# Builds the libFuzzer harnesses (build-fuzz/, clang-14, ASan + UBSan) and runs each for SECONDS
# (default 60), one process each, one after the other, from the committed seeds in fuzz/corpus/<reader>/.
# New inputs go to build-fuzz/corpus/<reader>/, crashes to build-fuzz/artifacts/<reader>/<run>/
# (commit a fixed crash's input as fuzz/corpus/<reader>/regress-*, with a Catch2 test).
# usage: fuzz/run.sh [SECONDS] [reader...]      e.g. fuzz/run.sh 300 json pickle
# Prints one line per harness (runs, seconds, crashes) and exits non-zero if any harness failed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
build=${BIGGAN_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -DBIGGAN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 >/dev/null || exit 1
cmake --build "$build" -j"${BIGGAN_FUZZ_JOBS:-2}" >/dev/null || { echo "fuzz build failed" >&2; exit 1; }
readers=("$@")
if [ ${#readers[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do r=$(basename "$f" .cpp); readers+=("${r#fuzz_}"); done
fi
status=0
run_id=$(date -u +%Y%m%dT%H%M%S)
for r in "${readers[@]}"; do
  artifacts="$build/artifacts/$r/$run_id"
  mkdir -p "$build/corpus/$r" "$artifacts" "$build/logs"
  log="$build/logs/$r.log"
  "$build/fuzz/fuzz_$r" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048  \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$build/corpus/$r" "fuzz/corpus/$r" \
    >"$log" 2>&1
  rc=$?
  # Executions: the final stats, or after a crash the last status line's count.
  runs=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  [ -n "$runs" ] || runs=$(grep -ao '^#[0-9]*' "$log" | tr -d '#' | tail -1)
  crashes=$(find "$artifacts" -type f | wc -l)
  printf '%-14s rc=%d runs=%s seconds=%s crash_files=%s corpus=%s\n' "$r" "$rc" "$runs" "$secs" "$crashes" \
    "$(ls "$build/corpus/$r" | wc -l)"
  if [ "$rc" -ne 0 ]; then
    status=1
    # What CI logs must hold to reproduce a finding: the report's key lines and each input (base64;
    # decode with `base64 -d > fuzz/corpus/<reader>/regress-...`).
    grep -a -m 5 -E 'escaped exception|error message is not one line|ERROR:|SUMMARY:|runtime error' "$log" |
      cut -c1-300 | sed "s/^/  $r: /"
    for f in "$artifacts"/*; do
      [ -f "$f" ] || continue
      echo "  $r: $(basename "$f") ($(stat -c %s "$f") bytes, base64): $(head -c 3000 "$f" | base64 -w0)"
    done
  fi
done
exit $status
