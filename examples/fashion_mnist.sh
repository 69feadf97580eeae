#!/usr/bin/env bash
# Train a class-conditional BigGAN on Fashion-MNIST step by step (what `make -f Makefile.pipeline`
# does, with its ITERS and AMP), then look at samples and scores. Run from the repository root after building.
set -euo pipefail
B=build; O=out/example
mkdir -p $O
$B/imagenet-to-hdf5 --format idx --split train /usr/share/datasets/fashion-mnist $O/train.hdf5
$B/imagenet-to-hdf5 --format idx --split test /usr/share/datasets/fashion-mnist $O/test.hdf5
$B/fashion-classifier train --train $O/train.hdf5 --test $O/test.hdf5 --out $O/classifier.pth --amp auto
$B/gan-train --flags-file pipelines/fashion_default.flags --data_path $O/train.hdf5 --base_root $O/run \
  --total_itr 2000 --amp auto --classifier $O/classifier.pth --eval_real $O/test.hdf5
W=$(ls -d $O/run/weights/*/)
$B/ckpt-inspect "$W" | head -40
$B/gan-sample --weights "$W" --num 5000 --output $O/samples.h5 --sheet $O/sheet.png
$B/fashion-classifier score --classifier $O/classifier.pth --real $O/test.hdf5 --samples $O/samples.h5
