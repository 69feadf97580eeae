"""Prints bench_models.sh's table from its JSON lines (ours and the reference, any number of rounds):
per configuration and part, the medians over rounds of seconds per call (wall and process CPU) and
the ratio ours / reference of those medians, plus the median of the per-round ratios (each round
runs both sides back to back, so that ratio is the steadier one on a shared machine).
Usage: python3 bench_models_table.py RESULTS.jsonl"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
configs = list(dict.fromkeys(r['config'] for r in rows))
parts = [('G forward, train mode', 'G_forward_train'), ('G forward, eval mode', 'G_forward_eval'),
         ('training step', 'train_step')]
print(f"{'config':<6} {'what':<22} {'ours s':>8} {'ref s':>8} {'ratio':>6} {'rounds':>7}"
      f"   {'ours cpu':>8} {'ref cpu':>8} {'ratio':>6}")
for c in configs:
  ours = [r for r in rows if r['config'] == c and r['impl'] == 'ours']
  ref = [r for r in rows if r['config'] == c and r['impl'] == 'reference']
  if not ours or not ref:
    sys.exit(f'{c}: results of one side are missing')
  if ours[0]['G_params'] != ref[0]['G_params'] or ours[0]['D_params'] != ref[0]['D_params']:
    sys.exit(f'{c}: parameter counts differ (G {ours[0]["G_params"]} vs {ref[0]["G_params"]}, '
             f'D {ours[0]["D_params"]} vs {ref[0]["D_params"]}): not the same model')
  for label, key in parts:
    o = statistics.median(r[key + '_s'] for r in ours)
    f = statistics.median(r[key + '_s'] for r in ref)
    paired = statistics.median(a[key + '_s'] / b[key + '_s'] for a, b in zip(ours, ref))
    oc = statistics.median(r[key + '_cpu_s'] for r in ours)
    fc = statistics.median(r[key + '_cpu_s'] for r in ref)
    print(f'{c:<6} {label:<22} {o:8.3f} {f:8.3f} {o / f:6.2f} {paired:7.2f}   {oc:8.3f} {fc:8.3f} {oc / fc:6.2f}')
r = rows[0]
rounds = len(rows) // (2 * len(configs))
print(f"(seconds per call: median of {r['repeats']} after warm-up, then median over {rounds} round(s); "
      f"'rounds' = median of the per-round ratios; {r['threads']} threads; batch "
      + ', '.join(f"{c} {next(x for x in rows if x['config'] == c)['batch']}" for c in configs)
      + '; training step = num_D_steps D updates + 1 G update + EMA)')
