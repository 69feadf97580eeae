#!/bin/sh
# Each header of libbiggan/ compiles on its own (without the precompiled LibTorch header): a
# translation unit that includes just that header, syntax-checked. Headers that use LibTorch take
# ~20 s each here; give header paths to check only those.
#   scripts/check-headers.sh [libbiggan/metrics/inception_score.h ...]
set -u
cd "$(dirname "$0")/.."
CXX=${CXX:-g++}
TORCH_INC="-isystem /usr/include/torch/csrc/api/include"
INC="-I. -Ibuild/generated -I/usr/include/hdf5/serial -I/usr/include/opencv4 $TORCH_INC -DMSGPACK_NO_BOOST"
headers=${*:-$(find libbiggan -name '*.h' | sort)}
fail=0
for h in $headers; do
  if printf '#include "%s"\n#include "%s"\n' "$h" "$h" | $CXX -std=c++17 -fsyntax-only $INC -x c++ - 2>/tmp/check-header.err; then
    echo "ok   $h"
  else
    echo "FAIL $h: $(grep -m1 'error' /tmp/check-header.err)"
    fail=1
  fi
done
exit $fail
