"""The reference side of bench_models: BigGAN-PyTorch's G forward and training step on the CPU.
Builds G, D, G_ema and the training function as train.py does (same flags, same order), with the
device 'cpu' instead of 'cuda', and times them exactly as bench_models.cpp times ours.
Usage: python3 bench_models_ref.py REF_DIR NAME THREADS WARMUP REPEATS [PROFILE_PREFIX] -- REFERENCE_FLAGS...
(with PROFILE_PREFIX, also Chrome traces of one call each, as bench_models --profile writes them)
(REF_DIR: a BigGAN-PyTorch checkout; nothing of it is copied here, it is imported.)
Prints one JSON object (seconds per call, medians; wall and process CPU time)."""
import json
import statistics
import sys
import time

ref, name, threads, warmup, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rest = sys.argv[6:]
profile = rest.pop(0) if rest and rest[0] != '--' else ''
assert rest and rest[0] == '--', 'usage: REF_DIR NAME THREADS WARMUP REPEATS [PROFILE_PREFIX] -- FLAGS...'
flags = rest[1:]
import torch  # noqa: E402
from reference_models import build, import_reference  # noqa: E402

utils, train_fns = import_reference(ref)
torch.set_num_threads(threads)


def time_calls(call):
  for _ in range(warmup):
    call()
  wall, cpu = [], []
  for _ in range(repeats):
    t, c = time.perf_counter(), time.process_time()
    call()
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - t)
  return statistics.median(wall), statistics.median(cpu), min(wall), max(wall)


def profile_call(what, call):
  if profile:
    with torch.autograd.profiler.profile() as prof:
      call()
    prof.export_chrome_trace(f'{profile}{name}_{what}.json')


config, model, G, D, ema = build(utils, flags)
GD = model.G_D(G, D)
state_dict = {'itr': 0, 'epoch': 0, 'config': config}
bs = config['batch_size']
z_, y_ = utils.prepare_z_y(max(config['G_batch_size'], bs), G.dim_z, config['n_classes'], device='cpu')
train = train_fns.GAN_training_function(G, D, GD, z_, y_, ema, state_dict, config)
G.train()
D.train()

d_batch = bs * config['num_D_steps'] * config['num_D_accumulations']
x = torch.randn(d_batch, 3, config['resolution'], config['resolution']).clamp(-1, 1)
y = torch.randint(0, config['n_classes'], (d_batch,))


def step():
  state_dict['itr'] += 1
  train(x, y)


train_wall, train_cpu, train_min, train_max = time_calls(step)
profile_call('step', step)

z = torch.randn(bs, G.dim_z)
gy = torch.randint(0, config['n_classes'], (bs,))
with torch.no_grad():
  def forward():
    G(z, G.shared(gy))
  G.train()
  gt_wall, gt_cpu, gt_min, gt_max = time_calls(forward)
  profile_call('G_train', forward)
  G.eval()
  ge_wall, ge_cpu, ge_min, ge_max = time_calls(forward)
  profile_call('G_eval', forward)

print(json.dumps(dict(
    impl='reference', config=name, amp='off', threads=threads, batch=bs, num_D_steps=config['num_D_steps'], repeats=repeats,
    train_step_s=train_wall, train_step_cpu_s=train_cpu, train_step_min_s=train_min, train_step_max_s=train_max,
    G_forward_train_s=gt_wall, G_forward_train_cpu_s=gt_cpu, G_forward_train_min_s=gt_min, G_forward_train_max_s=gt_max,
    G_forward_eval_s=ge_wall, G_forward_eval_cpu_s=ge_cpu, G_forward_eval_min_s=ge_min, G_forward_eval_max_s=ge_max,
    G_params=sum(p.numel() for p in G.parameters()), D_params=sum(p.numel() for p in D.parameters()))), flush=True)
