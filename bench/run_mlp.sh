#!/usr/bin/env bash
# The `mlp` workload, ouro against PyTorch in one run: both at 1 and 2 threads, interleaved
# REPS times, the median of each, then ouro's best over PyTorch's best. The PyTorch side is
# skipped, with a note, when /usr/bin/python3 cannot import torch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REPS=${REPS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}
bench="$BUILD_DIR/bench/ouro_bench"
[ -x "$bench" ] || { echo "run_mlp: $bench not built (make build)" >&2; exit 1; }
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for rep in $(seq "$REPS"); do
  "$bench" --benchmark_filter='^mlp/' --benchmark_min_time="$SECONDS_PER_RUN" --benchmark_format=json 2>/dev/null |
    /usr/bin/python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print(json.dumps({"who": "ouro", "threads": int(b["name"].split("threads:")[1].split("/")[0]), "sps": b["items_per_second"]}))' >> "$results"
  if [ "$have_torch" = 1 ]; then
    /usr/bin/python3 bench/mlp_peer.py "$SECONDS_PER_RUN" |
      /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line); print(json.dumps({"who": "pytorch", "threads": r["threads"], "sps": r["samples_per_second"]}))' >> "$results"
  fi
done
/usr/bin/python3 - "$results" "$have_torch" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
table = {}
for r in rows:
    table.setdefault((r["who"], r["threads"]), []).append(r["sps"])
print(f"{'framework':<10} {'threads':>7} {'samples/s (median)':>20}")
best = {}
for (who, threads), values in sorted(table.items()):
    m = statistics.median(values)
    best[who] = max(best.get(who, 0), m)
    print(f"{who:<10} {threads:>7} {m:>20,.0f}")
if sys.argv[2] == "1":
    print(f"ouro best / pytorch best = {best['ouro'] / best['pytorch']:.2f}x")
else:
    print("pytorch: skipped (/usr/bin/python3 cannot import torch)")
PY
