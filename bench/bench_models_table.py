"""Prints bench_models.sh's table from its JSON lines (ours in each precision and the reference in
float32, any number of rounds): per configuration, precision and part, the medians over rounds of
seconds per call (wall), the range (fastest and slowest timed call over all rounds), the ratio
ours / reference of the medians, the median of the per-round ratios (each round runs both sides
back to back, so that ratio is the steadier one on a shared machine), and process CPU seconds.
Usage: python3 bench_models_table.py RESULTS.jsonl"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
for r in rows:
  r.setdefault('amp', 'off')
configs = list(dict.fromkeys(r['config'] for r in rows))
# (label, our key, the reference's key): a batch of a sampling run is the reference's eval-mode forward
# (it repeats spectral norm's power iteration every batch; ours computes it once a run).
parts = [('G forward, train mode', 'G_forward_train', 'G_forward_train'),
         ('G forward, eval mode', 'G_forward_eval', 'G_forward_eval'),
         ('G sampling (a run)', 'G_sampling', 'G_forward_eval'),
         ('training step', 'train_step', 'train_step')]


def span(rs, key):
  lo = min(r.get(key + '_min_s', r[key + '_s']) for r in rs)
  hi = max(r.get(key + '_max_s', r[key + '_s']) for r in rs)
  return f'{lo:.3f}-{hi:.3f}'


print(f"{'config':<6} {'amp':<7} {'what':<22} {'ours s':>8} {'range':>13} {'ref s':>8} {'range':>13} {'ratio':>6}"
      f" {'rounds':>7}   {'ours cpu':>8} {'ref cpu':>8}")
for c in configs:
  ref = [r for r in rows if r['config'] == c and r['impl'] == 'reference']
  amps = list(dict.fromkeys(r['amp'] for r in rows if r['config'] == c and r['impl'] == 'ours'))
  if not ref or not amps:
    sys.exit(f'{c}: results of one side are missing')
  for amp in amps:
    ours = [r for r in rows if r['config'] == c and r['impl'] == 'ours' and r['amp'] == amp]
    if ours[0]['G_params'] != ref[0]['G_params'] or ours[0]['D_params'] != ref[0]['D_params']:
      sys.exit(f'{c}: parameter counts differ (G {ours[0]["G_params"]} vs {ref[0]["G_params"]}, '
               f'D {ours[0]["D_params"]} vs {ref[0]["D_params"]}): not the same model')
    for label, key, ref_key in parts:
      if key + '_s' not in ours[0]:
        continue  # JSON lines of an older bench_models
      o = statistics.median(r[key + '_s'] for r in ours)
      f = statistics.median(r[ref_key + '_s'] for r in ref)
      paired = statistics.median(a[key + '_s'] / b[ref_key + '_s'] for a, b in zip(ours, ref))
      oc = statistics.median(r[key + '_cpu_s'] for r in ours)
      fc = statistics.median(r[ref_key + '_cpu_s'] for r in ref)
      print(f'{c:<6} {amp:<7} {label:<22} {o:8.4f} {span(ours, key):>13} {f:8.4f} {span(ref, ref_key):>13} {o / f:6.2f}'
            f' {paired:7.2f}   {oc:8.3f} {fc:8.3f}')
r = rows[0]
rounds = len([x for x in rows if x['impl'] == 'reference']) // len(configs)
print(f"(seconds per call: median of {r['repeats']} after warm-up, then median over {rounds} round(s); range: "
      f"fastest-slowest timed call; ratio: ours / the reference's float32; 'rounds' = median of the per-round "
      f"ratios; {r['threads']} threads; batch "
      + ', '.join(f"{c} {next(x for x in rows if x['config'] == c)['batch']}" for c in configs)
      + '; training step = num_D_steps D updates + 1 G update + EMA)')
