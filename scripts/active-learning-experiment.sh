#!/usr/bin/env bash
# The active-learning table of docs/active-learning.md: every strategy and the labels-only baseline,
# 4 cycles from 100 labels, 100 more per cycle, on one dataset, for seeds 1–3, one JSON-lines file per
# run in OUT. Usage: scripts/active-learning-experiment.sh <data> <out folder> [steps per cycle]
set -euo pipefail
data="$1"
out="$2"
steps="${3:-80}"
mkdir -p "$out"
for seed in 1 2 3; do
  for run in coreset random uncertainty loss labels-only; do
    file="$out/$run-seed$seed.jsonl"
    [ -s "$file" ] && continue
    if [ "$run" = labels-only ]; then flags=(--strategy random --labels-only); else flags=(--strategy "$run"); fi
    npm run --silent train -- --data "$data" --active-learning "${flags[@]}" --initial 100 --budget 100 --cycles 4 \
      --steps-per-cycle "$steps" --seed "$seed" --json > "$file.part" 2> "$out/$run-seed$seed.err"
    mv "$file.part" "$file"
  done
done
