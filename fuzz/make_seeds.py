#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<reader>/ (small files: real layouts made by torch, numpy and
by hand-encoded msgpack / IDX, plus small files from the reference fixtures when present).
Run once with /usr/bin/python3 (python3-torch, python3-numpy); the output is committed."""
import collections, gzip, io, os, pickle, struct, sys, zipfile

import numpy as np
import torch

torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
FIX = os.environ.get("BIGGAN_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures"))


def put(reader, name, data):
    d = os.path.join(ROOT, reader)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def torch_bytes(obj, legacy):
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=not legacy)
    return b.getvalue()


# --- torch files (zip and legacy), their pickles, and zip archives
g = torch.Generator().manual_seed(0)
base = torch.randn(4, 3, generator=g)
objects = {
    "state_dict": collections.OrderedDict(w=base, b=torch.arange(3, dtype=torch.int64), view=base[1:, ::2],
                                          flag=torch.tensor([True, False]), h=torch.ones(2, dtype=torch.float16)),
    "optim": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2, 2)}},
              "param_groups": [{"lr": 2e-4, "betas": (0.0, 0.999), "eps": 1e-8, "params": [0]}]},
    "config": {"itr": 25, "best_FID": 999999.0, "config": {"model": "BigGAN", "G_attn": "64", "seed": 0},
               "npscalar": np.float64(1.5), "npint": np.int64(7), "none": None, "bytes": b"\x00\xff",
               "list": [1, -2, 2**40, 3.5, "s", True], "big": 2**70},
    # Hugging Face's BN tables are numpy arrays in a torch file: C and Fortran order, big-endian, bool.
    "numpy_arrays": [np.arange(6, dtype="<f4").reshape(2, 3), np.asfortranarray(np.eye(3)),
                     np.arange(3, dtype=">f4"), np.array([True, False]), np.array(2.5)],
}
for name, obj in objects.items():
    z = torch_bytes(obj, legacy=False)
    put("torch_file", name + ".pth", z)
    put("torch_file", name + "_legacy.pth", torch_bytes(obj, legacy=True))
    put("zip", name + ".pth", z)
    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl")][0]
        put("pickle", name + ".pkl", zf.read(pkl))
for proto in (2, 3, 4, 5):
    put("pickle", "plain_p%d.pkl" % proto,
        pickle.dumps({"a": [1, 2.5, "x", b"y", None, True, (1, 2)], "b": {"c": -(2**33)}}, protocol=proto))
for f in ("biggan/c32/init/state_dict.pth", "biggan/c32/init/D_optim.pth", "trajectory/weights/state_dict_itr0.pth"):
    p = os.path.join(FIX, f)
    if os.path.exists(p):
        data = open(p, "rb").read()
        put("torch_file", f.replace("/", "_"), data)
        put("zip", f.replace("/", "_"), data)


# --- npy / npz
arrays = {"f4": np.arange(6, dtype="<f4").reshape(2, 3), "f8_fortran": np.asfortranarray(np.eye(3)),
          "i8_be": np.arange(4, dtype=">i8"), "u1": np.arange(5, dtype=np.uint8), "b1": np.array([True, False]),
          "f2": np.ones(2, np.float16), "i1": np.array([-1], np.int8), "scalar": np.array(3.0),
          "empty": np.zeros((0, 4), np.float32)}
for name, a in arrays.items():
    b = io.BytesIO()
    np.save(b, a)
    put("npy", name + ".npy", b.getvalue())
b = io.BytesIO()
np.lib.format.write_array(b, np.arange(3, dtype="<i4"), version=(2, 0))
put("npy", "v2.npy", b.getvalue())
for name, saver in (("savez", np.savez), ("savez_compressed", np.savez_compressed)):
    b = io.BytesIO()
    saver(b, mu=np.arange(4.0), sigma=np.eye(4), y=np.arange(3))
    put("npz", name + ".npz", b.getvalue())
    put("zip", name + ".npz", b.getvalue())


# --- JSON
put("json", "config.json", b'{"model": "BigGAN", "G_ch": 32, "G_lr": 5e-05, "G_attn": "0", "hier": true, "x": null}')
put("json", "jsonl_line.json", b'{"itr": 1, "G_loss": 1.2345678901234567, "D_loss_real": -0.5, "nan": NaN, "inf": -Infinity}')
put("json", "escapes.json", b'["\\u00e9\\u20ac\\ud83d\\ude00", "\\n\\t\\"\\\\\\/\\b\\f\\r", "\xc3\xa9"]')
put("json", "nested.json", b'[[[{"a": [1, -2, 3.5e10, 1e-300]}]], {}, [], ""]')
for f in ("biggan/c32/config.json",):
    p = os.path.join(FIX, f)
    if os.path.exists(p):
        put("json", "fixture_config.json", open(p, "rb").read())


# --- msgpack sample stream (docs/stream-format.md), encoded by hand
def mp(v):
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        s = v.encode()
        return b"\xdb" + struct.pack(">I", len(s)) + s
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def stream(dtype, c, h, w, frames, labels):
    out = mp({"type": "header", "format": "biggan-samples", "version": 1, "dtype": dtype, "channels": c,
              "height": h, "width": w, "count": sum(frames), "meta": {"generator": "seed"}})
    es = 4 if dtype == "float32" else 1
    for n in frames:
        f = {"type": "images", "shape": [n, c, h, w], "data": bytes((i * 7) % 256 for i in range(n * c * h * w * es))}
        if labels == "array":
            f["labels"] = list(range(n))
        elif labels == "bin":
            f["labels"] = struct.pack("<%dq" % n, *range(n))
        out += mp(f)
    return out + mp({"type": "end", "frames": len(frames) + 2, "images": sum(frames)})


put("sample_stream", "uint8_labels.msgpack", stream("uint8", 3, 2, 2, [2, 1], "array"))
put("sample_stream", "float32.msgpack", stream("float32", 1, 2, 3, [1], None))
put("sample_stream", "bin_labels.msgpack", stream("uint8", 1, 1, 1, [3], "bin"))


# --- IDX
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


imgs = idx([2, 3, 3], range(18))
labels = idx([2], [1, 9])
put("idx", "images-idx3-ubyte", imgs)
put("idx", "labels-idx1-ubyte", labels)
put("idx", "images-idx3-ubyte.gz", gzip.compress(imgs, mtime=0))


# --- flags files
rec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipelines")
for f in sorted(os.listdir(rec)):
    if f.endswith(".flags"):
        put("flags_file", f, open(os.path.join(rec, f), "rb").read())
p = os.path.join(FIX, "trajectory", "flags.txt")
if os.path.exists(p):
    put("flags_file", "trajectory_flags.txt", open(p, "rb").read())
put("flags_file", "comments.flags", b"# a recipe\n--model BigGANdeep --G_attn 32_64  # inline\n--G_lr=2e-4\n--hier\n")
