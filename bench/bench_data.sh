#!/bin/sh
# Benchmark of the data area (issue 3): imagenet-to-hdf5 against the reference's make_hdf5.py on the
# same folder of real photos, the pixel difference between the two files, and loader throughput.
# Usage: bench/bench_data.sh BUILD_DIR [WORK_DIR=/tmp/bench_data] [REF_DIR=../ref/biggan]
# Needs /usr/bin/python3 with torch, torchvision, h5py, tqdm; Debian's mate-backgrounds for the photos.
# The machine's CPUs may be shared: compare user+sys CPU seconds as well as wall time.
set -eu
BUILD=$(cd "$1" && pwd)
WORK=${2:-/tmp/bench_data}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "${3:-$HERE/../../ref/biggan}" && pwd)
PHOTOS="$HERE/../../shared/bench/make_photo_folder.py"
mkdir -p "$WORK"
cd "$WORK"
if [ ! -d data/ImageNet ]; then
  echo "building the photo folder (2,800 JPEGs from mate-backgrounds)..." >&2
  /usr/bin/python3 "$PHOTOS" data/ImageNet 200 1 >&2
fi

timed() {  # timed LABEL CMD...: prints wall, user+sys CPU, peak RSS
  label=$1; shift
  /usr/bin/time -f "$label wall_s=%e cpu_s=%U+%S max_rss_kb=%M" "$@" > /dev/null 2> "$WORK/$label.time" || { cat "$WORK/$label.time" >&2; exit 1; }
  tail -n 1 "$WORK/$label.time"
}

rm -f data/ILSVRC128.hdf5 I128_imgs.npz
echo "== reference make_hdf5.py --num_workers 2 (PYTHONPATH=$REF)"
timed reference env PYTHONPATH="$REF" OMP_NUM_THREADS=1 /usr/bin/python3 "$REF/make_hdf5.py" \
  --dataset I128 --data_root data --batch_size 256 --num_workers 2 --chunk_size 500
mv data/ILSVRC128.hdf5 ref128.hdf5

echo "== imagenet-to-hdf5 --threads 2 (exact), then with --fast-decode"
timed ours "$BUILD/imagenet-to-hdf5" -q --threads 2 -r 128 data/ImageNet ours128.hdf5
timed ours_fast "$BUILD/imagenet-to-hdf5" -q --threads 2 -r 128 --fast-decode data/ImageNet ours128_fast.hdf5
for m in area linear; do
  "$BUILD/imagenet-to-hdf5" -q --threads 2 -r 128 --resize $m data/ImageNet ours128_$m.hdf5
done

echo "== pixel differences (mean |a - b| in 0..255 units)"
/usr/bin/python3 - <<'EOF'
import h5py, numpy as np
ref = h5py.File('ref128.hdf5', 'r')
r = ref['imgs'][:].astype(np.int16)
assert (ref['labels'][:] == h5py.File('ours128.hdf5', 'r')['labels'][:]).all(), 'labels differ'
for name in ['ours128.hdf5', 'ours128_fast.hdf5', 'ours128_area.hdf5', 'ours128_linear.hdf5']:
  o = h5py.File(name, 'r')['imgs'][:].astype(np.int16)
  d = o - r
  print(f'{name} vs reference file: mean abs {np.abs(d).mean():.4f} (= {np.abs(d).mean()/255:.5f} of full scale),'
        f' max {np.abs(d).max()}, exact {np.mean(d == 0):.3f}, ours one above (reference truncation) {np.mean(d == 1):.3f}')
EOF

echo "== loader throughput (batch 256, 128x128, 2 threads)"
"$BUILD/bench_data" ours128.hdf5 256 40 2
