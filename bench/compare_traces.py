"""Compares two Chrome traces of the same call (bench_models --profile against bench_models_ref.py's
PROFILE_PREFIX): self time per operator, largest first, so that one sees where a step's time goes
and which operators differ.
Usage: python3 compare_traces.py OURS.json REFERENCE.json [TOP=25]"""
import collections
import json
import sys


def self_times(path):
  """Self time (microseconds) and call count per event name; nesting by time on each thread."""
  events = [e for e in json.load(open(path)) if e.get('ph') == 'X' and 'dur' in e]
  by_thread = collections.defaultdict(list)
  for e in events:
    by_thread[e['tid']].append(e)
  own, calls, top_level = collections.Counter(), collections.Counter(), 0.0
  for es in by_thread.values():
    es.sort(key=lambda e: (float(e['ts']), -float(e['dur'])))
    stack = []
    for e in es:
      start, dur = float(e['ts']), float(e['dur'])
      while stack and float(stack[-1]['ts']) + float(stack[-1]['dur']) <= start + 1e-9:
        stack.pop()
      if stack:
        own[stack[-1]['name']] -= dur
      else:
        top_level += dur
      own[e['name']] += dur
      calls[e['name']] += 1
      stack.append(e)
  return own, calls, top_level


ours, ours_calls, ours_total = self_times(sys.argv[1])
ref, ref_calls, ref_total = self_times(sys.argv[2])
top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
print(f'top-level events: ours {ours_total / 1e3:.1f} ms, reference {ref_total / 1e3:.1f} ms')
for n in sorted(set(ours) | set(ref), key=lambda n: -max(ours[n], ref[n]))[:top]:
  print(f'{n[:48]:<48} ours {ours[n] / 1e3:9.1f} ms {ours[n] / ours_total:6.1%} ({ours_calls[n]:5d})'
        f'   ref {ref[n] / 1e3:9.1f} ms {ref[n] / ref_total:6.1%} ({ref_calls[n]:5d})')
