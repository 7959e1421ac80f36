#!/usr/bin/env bash
# Runs ouro_bench and prints, for every case, ouro against the reference measured in the same
# run: matmul time / cblas_sgemm time, add GB/s / memcpy GB/s (and / a plain loop's GB/s), and
# fused softmax / layer_norm GB/s / memcpy GB/s of the same bytes, and their time / the time of
# the same maths composed from primitive ops.
#
#   bench/run_ratios.sh                 # build dir ./build, all cases
#   BUILD_DIR=build-rel bench/run_ratios.sh --benchmark_filter=matmul
#   bench/run_ratios.sh --from results.json   # only print the table of an earlier run
#
# MIN_TIME (seconds per repetition, default 0.1) and REPS (repetitions, default 3; the table
# uses their median) trade time for stability. Repetitions run in random order, so a burst of
# other load on the machine hits ouro and its reference alike. Extra arguments go to ouro_bench.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
min_time="${MIN_TIME:-0.1}"
reps="${REPS:-3}"

if [[ "${1:-}" == "--from" ]]; then
  json="${2:?--from needs a JSON file}"
else
  bench="$build_dir/bench/ouro_bench"
  if [[ ! -x "$bench" ]]; then
    echo "no $bench: build it first (cmake --build $build_dir --target ouro_bench -j2)" >&2
    exit 1
  fi
  cores="$(nproc)"
  load="$(cut -d' ' -f1 /proc/loadavg)"
  # Two-thread cases need both cores free: an OpenMP worker that has to wait for a busy core
  # stalls every parallel region by a scheduler tick, and the 2-thread ratios become noise.
  if python3 -c "import sys; sys.exit(0 if float('$load') > 0.5 * $cores else 1)"; then
    echo "warning: load average $load on $cores cores; multi-threaded timings will be unreliable" >&2
  fi
  json="$build_dir/bench/ratios.json"
  # Google Benchmark 1.7 takes --benchmark_min_time in plain seconds (1.8 wants a suffix: 0.1s).
  "$bench" --benchmark_format=json --benchmark_out_format=json --benchmark_out="$json" \
    --benchmark_min_time="$min_time" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true "$@" >/dev/null
  echo "raw results: $json (load average before: $load, after: $(cut -d' ' -f1 /proc/loadavg))" >&2
fi

python3 - "$json" <<'PY'
import json
import re
import sys

with open(sys.argv[1]) as f:
    data = json.load(f)

# One entry per case: the median when repetitions were run, else the single run.
runs = {}
for b in data["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
        continue
    name = re.sub(r"/(real|manual)_time$", "", b.get("run_name", b["name"]))
    runs[name] = b

def split(name):
    group, impl, *params = name.split("/")
    return group, impl, "/".join(params)

def seconds(b):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
    return b["real_time"] * scale

def reference(group, impl, params):
    exact = runs.get(f"{group}/{impl}/{params}")
    if exact:
        return exact
    # References that run on one thread are registered without a thread count.
    return runs.get(f"{group}/{impl}/" + re.sub(r"/?threads:\d+", "", params))

def fmt_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"

# group -> [(reference, how the ratio is taken)]
plans = {
    "matmul": [("cblas", "time")],
    "add": [("memcpy", "bandwidth"), ("loop", "bandwidth")],
    "softmax": [("memcpy", "bandwidth"), ("composed", "time")],
    "layer_norm": [("memcpy", "bandwidth"), ("composed", "time")],
}

rows = []
for name, b in runs.items():
    group, impl, params = split(name)
    if impl != "ouro" or group not in plans:
        continue
    for ref_impl, kind in plans[group]:
        r = reference(group, ref_impl, params)
        if r is None:
            continue
        if kind == "time":
            ratio = seconds(b) / seconds(r)
            ours, theirs = fmt_time(seconds(b)), fmt_time(seconds(r))
            if "FLOP/s" in b:
                ours += f" ({b['FLOP/s'] / 1e9:.1f} GFLOP/s)"
                theirs += f" ({r['FLOP/s'] / 1e9:.1f} GFLOP/s)"
        else:
            ratio = b["bytes_per_second"] / r["bytes_per_second"]
            ours = f"{b['bytes_per_second'] / 1e9:.2f} GB/s"
            theirs = f"{r['bytes_per_second'] / 1e9:.2f} GB/s"
        rows.append((group, params, ref_impl, ours, theirs, ratio, kind))

if not rows:
    sys.exit("no ouro/reference pairs in the results")

# Repetitions run interleaved, so the JSON is in random order: sort by op, then by the
# numbers in the parameters (size first, then threads), then by reference.
def sort_key(row):
    group, params, ref_impl = row[0], row[1], row[2]
    numbers = tuple(int(x) for x in re.findall(r":(\d+)", params))
    return (list(plans).index(group), numbers, [ref for ref, _ in plans[group]].index(ref_impl))

rows.sort(key=sort_key)

headers = ("op", "case", "reference", "ouro", "reference value", "ratio")
table = [(g, p, f"{ref} ({kind})", o, t, f"{x:.2f}") for g, p, ref, o, t, x, kind in rows]
widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
print(line)
print("-" * len(line))
for r in table:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
print()
print("(time) ratios: ouro time / reference time; 1.00 = parity, below 1 = ouro faster.")
print("(bandwidth) ratios: ouro GB/s / reference GB/s (bytes read + written); 1.00 = as fast as the reference.")
print("memcpy and loop references run on one thread: a 2-thread ratio compares two cores with one.")
PY
