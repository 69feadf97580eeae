#!/bin/sh
# The yardstick's curve of a gan-train test log (logs/NAME_log.jsonl of a run with --classifier):
# per test, the iteration, minutes since START (seconds since the epoch, when training started),
# conditional accuracy, the weakest class, classifier-FID and its ratio to the real-vs-real floor.
# bench/sweep_recipe.sh prints every point's curve with it; for a run made otherwise (e.g. by
# Makefile.pipeline) take START from its logs/NAME/metalog.txt:
#
#   bench/sweep_curve.sh LOG START NAME > curve.tsv
#   bench/sweep_curve.sh out/fashion_default/logs/fashion_default_log.jsonl \
#     "$(date -u -d "$(sed -n 's/^datetime: //p' out/fashion_default/logs/fashion_default/metalog.txt)" +%s)" old
set -eu
[ $# -eq 3 ] || { echo "usage: $0 LOG START_SECONDS NAME" >&2; exit 2; }
LOG=$1 START=$2 NAME=$3
[ -s "$LOG" ] || { echo "$0: $LOG: missing or empty" >&2; exit 1; }
case $START in ''|*[!0-9.]*) echo "$0: START must be seconds since the epoch, got '$START'" >&2; exit 2 ;; esac
# One JSON object a line; the keys are plain, so awk reads them without a JSON tool.
awk -v start="$START" -v name="$NAME" '
  function num(key,   m) { if (match($0, "\"" key "\": *-?[0-9.eE+-]+")) { m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: */, "", m); return m + 0 } return "" }
  BEGIN { OFS = "\t"; print "name", "itr", "minutes", "accuracy", "weakest_class", "classifier_FID", "FID/floor" }
  /"itr"/ && /"FID"/ {
    weakest = 1
    if (match($0, /"per_class_accuracy": *\[[^]]*\]/)) {
      s = substr($0, RSTART, RLENGTH); sub(/^[^[]*\[/, "", s); sub(/\]$/, "", s)
      n = split(s, a, /, */); for (i = 1; i <= n; i++) if (a[i] != "null" && a[i] + 0 < weakest) weakest = a[i] + 0
    }
    floor = num("floor_FID"); fid = num("FID")
    printf "%s\t%d\t%.1f\t%.4f\t%.4f\t%.2f\t%s\n", name, num("itr"), (num("_stamp") - start) / 60, num("conditional_accuracy"), weakest, fid, (floor > 0 ? sprintf("%.1f", fid / floor) : "-")
  }' "$LOG"
