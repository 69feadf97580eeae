"""The reference side of bench_models --layouts: one training step of BigGAN-PyTorch (train_fns, as
bench_models_ref.py builds it) with every ATen call's time summed per operator and per memory layout
of its 4-d tensor arguments (N: NCHW-contiguous, C: channels-last-contiguous, X: neither, .: not 4-d
or tiny), largest first. With --cl, G's first block and D's first block get channels-last input, as
ours does with --channels_last, so the reference's own step shows what that layout costs it.
Usage: python3 layouts_ref.py REF_DIR [--cl] -- REFERENCE_FLAGS...   (flags: bench_models --print-flags c32)
(REF_DIR: a BigGAN-PyTorch checkout; nothing of it is copied here, it is imported.)"""
import collections
import sys
import time

ref, rest = sys.argv[1], sys.argv[2:]
use_cl = bool(rest) and rest[0] == '--cl'
if use_cl:
  rest = rest[1:]
assert rest and rest[0] == '--', 'usage: REF_DIR [--cl] -- FLAGS...'
import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_flatten  # noqa: E402
from reference_models import build, import_reference  # noqa: E402

utils, train_fns = import_reference(ref)
torch.set_num_threads(2)
config, model, G, D, ema = build(utils, rest[1:])
cl = torch.channels_last
if use_cl:
  for block in (G.blocks[0][0], D.blocks[0][0]):
    block.forward = (lambda f: lambda x, *a: f(x.contiguous(memory_format=cl), *a))(block.forward)
state_dict = {'itr': 0, 'epoch': 0, 'config': config}
bs = config['batch_size']
# Plain tensors with the reference's sample_() (its Distribution subclass does not survive a dispatch mode).
z_, y_ = torch.randn(bs, G.dim_z), torch.zeros(bs, dtype=torch.long)
z_.sample_ = lambda: z_.normal_()
y_.sample_ = lambda: y_.random_(0, config['n_classes'])
train = train_fns.GAN_training_function(G, D, model.G_D(G, D), z_, y_, ema, state_dict, config)
d_batch = bs * config['num_D_steps'] * config['num_D_accumulations']
x = torch.randn(d_batch, 3, config['resolution'], config['resolution']).clamp(-1, 1)
y = torch.randint(0, config['n_classes'], (d_batch,))


def letter(t):
  if t.dim() != 4 or t.numel() < 4096:
    return '.'
  return 'N' if t.is_contiguous() else 'C' if t.is_contiguous(memory_format=cl) else 'X'


totals = collections.defaultdict(lambda: [0, 0.0])


class Layouts(TorchDispatchMode):
  def __torch_dispatch__(self, func, types, args=(), kwargs=None):
    start = time.perf_counter()
    out = func(*args, **(kwargs or {}))
    row = totals[f'{func} ' + ''.join(letter(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor))]
    row[0] += 1
    row[1] += time.perf_counter() - start
    return out


for _ in range(2):  # warm-up
  state_dict['itr'] += 1
  train(x, y)
with Layouts():
  state_dict['itr'] += 1
  train(x, y)
print(f'step {"channels-last" if use_cl else "NCHW"}: {sum(r[1] for r in totals.values()) * 1e3:.1f} ms in ATen calls')
for key, (calls, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:30]:
  print(f'  {key:<55} {seconds * 1e3:8.1f} ms {calls:5d}')
