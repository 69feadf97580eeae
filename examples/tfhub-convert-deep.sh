#!/usr/bin/env bash
# A pretrained BigGAN-deep from TF-Hub, without TensorFlow: download DeepMind's biggan-deep-128
# module, convert it into a BigGANdeep weights folder, and sample it at a few truncations (each picks
# its BN statistics from the module's 51 levels). Run from the repository root after building.
# Users of Hugging Face's pytorch-pretrained-BigGAN can give its cached directory (pytorch_model.bin +
# config.json) instead of the module; BN_STATS=file.h5 gives the tables from a file (docs/tfhub.md).
set -euo pipefail
B=build; O=out/tfhub; RES=${RES:-128}
mkdir -p $O/biggan-deep-$RES
if [ ! -f $O/biggan-deep-$RES/variables/variables.index ]; then
  curl -L "https://tfhub.dev/deepmind/biggan-deep-$RES/1?tf-hub-format=compressed" -o $O/biggan-deep-$RES.tar.gz
  tar -xzf $O/biggan-deep-$RES.tar.gz -C $O/biggan-deep-$RES
fi
rm -rf $O/weights-deep-$RES   # tfhub-convert writes only into a new or empty folder
$B/tfhub-convert --progress $O/biggan-deep-$RES $O/weights-deep-$RES ${BN_STATS:+--bn-stats $BN_STATS}
for T in 1.0 0.5 0.2; do
  $B/gan-sample --weights $O/weights-deep-$RES --truncation $T --num 16 --sheet $O/sheet-deep-$RES-$T.png
done
