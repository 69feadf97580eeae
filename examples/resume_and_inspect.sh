#!/usr/bin/env bash
# Stop a run with Ctrl-C (it saves and exits 0), inspect the save, and resume exactly where it stopped.
set -euo pipefail
B=build; O=out/resume
$B/gan-train --flags-file pipelines/fashion_default.flags --data_path out/data/FMNIST32.hdf5 --base_root $O --total_itr 200 &
sleep 60; kill -INT $!; wait $! || true
W=$(ls -d $O/weights/*/)
$B/ckpt-inspect --json "$W/state_dict.pth"
$B/gan-train --flags-file pipelines/fashion_default.flags --data_path out/data/FMNIST32.hdf5 --base_root $O --total_itr 200 --resume
