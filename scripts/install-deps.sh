#!/usr/bin/env bash
# Installs, from Debian 12's own packages, whatever the toolkit needs and this machine lacks.
#   scripts/install-deps.sh          build + run dependencies, and the Fashion-MNIST data set
#   scripts/install-deps.sh --test   also what the test suite uses: the oracles (Debian's python3-torch,
#                                    torchvision and PIL) and clang + libFuzzer for the fuzzers' smoke run
#   scripts/install-deps.sh --fuzz   only the fuzzing build's additions (docs/fuzzing.md)
set -euo pipefail
pkgs=(build-essential cmake libtorch-dev libhdf5-dev libcxxopts-dev libmsgpack-cxx-dev
      libopencv-dev catch2 libopenblas0-pthread libgloo-dev dataset-fashion-mnist)
if [[ " $* " == *" --test "* ]]; then
  pkgs+=(python3-torch python3-torchvision python3-pil python3-h5py python3-numpy python3-scipy)
fi
if [[ " $* " == *" --test "* || " $* " == *" --fuzz "* ]]; then
  pkgs+=(clang-14 libfuzzer-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
