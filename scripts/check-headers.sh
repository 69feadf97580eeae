#!/bin/sh
# Each header of libbiggan/ compiles on its own: a translation unit that includes just that header
# (twice, to check the include guard), syntax-checked. A header that includes LibTorch itself
# (directly or through the project headers it includes) is checked with <torch/torch.h> already
# precompiled, which changes nothing for it and saves ~20 s a header; every other header is checked
# bare, so using LibTorch (or anything else) without including it fails.
#   scripts/check-headers.sh [header ...]        (default: every libbiggan/**/*.h; needs build/)
set -u
cd "$(dirname "$0")/.."
CXX=${CXX:-g++}
FLAGS="-std=c++17 -I. -Ibuild/generated -I/usr/include/hdf5/serial -isystem /usr/include/opencv4
  -isystem /usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1 -DMSGPACK_NO_BOOST"
PCH_DIR=build/check-headers
mkdir -p $PCH_DIR
if [ ! -f $PCH_DIR/torch.h.gch ]; then
  echo '#include <torch/torch.h>' > $PCH_DIR/torch.h
  $CXX $FLAGS -x c++-header $PCH_DIR/torch.h -o $PCH_DIR/torch.h.gch || exit 1
fi
headers=${*:-$(find libbiggan -name '*.h' | sort)}
fail=0
for h in $headers; do
  pre=""
  if $CXX $FLAGS -M -x c++ "$h" 2>/dev/null | grep -q 'torch/csrc/api/include/torch/torch.h'; then
    pre="-include $PCH_DIR/torch.h"
  fi
  if printf '#include "%s"\n#include "%s"\n' "$h" "$h" | $CXX $FLAGS $pre -fsyntax-only -x c++ - 2>$PCH_DIR/err; then
    echo "ok   $h"
  else
    echo "FAIL $h: $(grep -m1 'error' $PCH_DIR/err)"
    fail=1
  fi
done
exit $fail
