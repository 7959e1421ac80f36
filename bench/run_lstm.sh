#!/usr/bin/env bash
# The `lstm` workload, ouro against PyTorch in one run (bench/bench_lstm.cpp and
# bench/lstm_torch.py): training tokens/s and batch-1 generation tokens/s at 1 and 2 threads,
# interleaved REPS times, the median of each, then ouro's best over PyTorch's best. Then peak
# memory: each framework trains at 1 thread in a process of its own and the parent reads that
# child's ru_maxrss (os.wait4); the same is read for a process that only starts up (ouro_bench
# running no case; python3 importing torch), so the workload's own share shows too.
# Tokens per CPU-second (CPU time of all the process's threads) are printed beside: on a
# loaded machine, where wall-clock figures measure the load, the 1-thread column still
# compares the work each framework does per token.
# The PyTorch side is skipped, with a note, when /usr/bin/python3 cannot import torch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REPS=${REPS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
bench="$BUILD_DIR/bench/ouro_bench"
[ -x "$bench" ] || { echo "run_lstm: $bench not built (make build)" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$bench" "$REPS" "$SECONDS_PER_RUN" <<'PY'
import json, os, statistics, subprocess, sys

bench, reps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
have_torch = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0
peer = os.path.join("bench", "lstm_torch.py")
table, cpu_table = {}, {}

def add(who, mode, threads, rate, cpu_rate):
    table.setdefault((mode, who, threads), []).append(rate)
    cpu_table.setdefault((mode, who, threads), []).append(cpu_rate)

for rep in range(reps):
    out = subprocess.run([bench, "--benchmark_filter=^lstm/ouro/", f"--benchmark_min_time={seconds}",
                          "--benchmark_format=json"], capture_output=True, text=True, check=True).stdout
    for b in json.loads(out)["benchmarks"]:
        _, _, mode, threads = b["run_name"].split("/")[:4]
        # cpu_time is the process's CPU time (all threads) per iteration, in the case's unit.
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        tokens = b["items_per_second"] * b["real_time"] * scale
        add("ouro", mode, int(threads.split(":")[1]), b["items_per_second"], tokens / (b["cpu_time"] * scale))
    if have_torch:
        for mode in ("train", "generate"):
            for threads in (1, 2):
                r = json.loads(subprocess.run(["/usr/bin/python3", peer, mode, str(threads), str(seconds)],
                                              capture_output=True, text=True, check=True).stdout)
                add("pytorch", mode, threads, r["tokens_per_second"], r["tokens_per_cpu_second"])

print(f"{'mode':<9} {'framework':<9} {'threads':>7} {'tokens/s (median of %d)' % reps:>24} {'tokens per CPU-second':>22}")
best = {}
for (mode, who, threads), values in sorted(table.items()):
    m = statistics.median(values)
    best[(mode, who)] = max(best.get((mode, who), 0), m)
    print(f"{mode:<9} {who:<9} {threads:>7} {m:>24,.0f} {statistics.median(cpu_table[(mode, who, threads)]):>22,.0f}")
for mode in ("train", "generate"):
    if have_torch:
        print(f"{mode}: ouro best / pytorch best = {best[(mode, 'ouro')] / best[(mode, 'pytorch')]:.2f}x")
if not have_torch:
    print("pytorch: skipped (/usr/bin/python3 cannot import torch)")

def peak_mib(command):
    env = dict(os.environ, OURO_NUM_THREADS="1", OMP_NUM_THREADS="1")
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    return usage.ru_maxrss / 1024  # Linux reports KiB

print("peak resident memory (ru_maxrss of a separate process, 1 thread):")
rows = [("ouro", [bench, "--benchmark_filter=^lstm/ouro/train/threads:1/", "--benchmark_min_time=1"],
         [bench, "--benchmark_filter=^no-such-case$"])]
if have_torch:
    rows.append(("pytorch", ["/usr/bin/python3", peer, "train", "1", "1"], ["/usr/bin/python3", "-c", "import torch"]))
for who, train, idle in rows:
    total, start = peak_mib(train), peak_mib(idle)
    print(f"  {who:<8} training {total:8.1f} MiB   start-up only {start:8.1f} MiB   training's share {total - start:8.1f} MiB")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
