#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite (what CI runs): the
# fuzzers' smoke run (every harness for a few seconds, ASan + UBSan, docs/fuzzing.md), then ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
fuzz/run.sh "${BIGGAN_FUZZ_SECONDS:-10}"
# A check that cannot run is a failure here, not a warning (tests/fixtures.h: BIGGAN_SKIP).
export BIGGAN_NO_SKIP="${BIGGAN_NO_SKIP:-1}"
cd build && ctest --output-on-failure
