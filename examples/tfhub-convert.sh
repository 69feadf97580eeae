#!/usr/bin/env bash
# A pretrained BigGAN from TF-Hub, without TensorFlow: download DeepMind's biggan-128 module, convert
# it into a weights folder, look at it, and sample it. Run from the repository root after building.
# (Users of BigGAN-PyTorch's TFHub/converter.py can give its biggan-128.h5 dump instead of the module.)
set -euo pipefail
B=build; O=out/tfhub; RES=${RES:-128}
mkdir -p $O/biggan-$RES
if [ ! -f $O/biggan-$RES/variables/variables.index ]; then
  curl -L "https://tfhub.dev/deepmind/biggan-$RES/2?tf-hub-format=compressed" -o $O/biggan-$RES.tar.gz
  tar -xzf $O/biggan-$RES.tar.gz -C $O/biggan-$RES
fi
rm -rf $O/weights-$RES   # tfhub-convert writes only into a new or empty folder
$B/tfhub-convert --progress $O/biggan-$RES $O/weights-$RES
$B/ckpt-inspect $O/weights-$RES | head -30
# No flags needed: the folder's state_dict.pth describes the architecture. The module's BN statistics
# are TF-Hub's at truncation 1 (docs/tfhub.md), so sample without truncation for TF-Hub's images.
$B/gan-sample --weights $O/weights-$RES --num 16 --sheet $O/sheet-$RES.png --output $O/samples-$RES.h5
