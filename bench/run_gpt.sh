#!/usr/bin/env bash
# The `gpt` workload, ouro against PyTorch in one run (bench/bench_gpt.cpp and
# bench/gpt_torch.py): training tokens/s at 1 and 2 threads, with the model-FLOPs utilisation
# (MFU) of each framework against the cblas_sgemm rate measured in the same repetition at the
# same thread count, and against ouro's own GEMM on the same product; batch-1 greedy generation
# tokens/s without and with the KV cache. Cases interleave REPS times; medians are printed.
# Each training case runs between two cblas_sgemm runs and takes their mean as its yardstick.
# Debian's OpenBLAS 0.3.21 does not recognise recent Intel cores and falls back to its generic
# SSE3 ("Prescott") kernels, 4-5x below what the CPU can do; so the cblas_sgemm yardstick runs
# in its own process with OPENBLAS_CORETYPE set to the newest kernel family the CPU supports
# (SkylakeX with AVX-512, Haswell with AVX2; OURO_BENCH_OPENBLAS_CORETYPE overrides, "default"
# leaves OpenBLAS alone), and the script prints the core OpenBLAS reports.
# Then peak memory of a training process of each framework at 1 thread (ru_maxrss via
# os.wait4), beside that of a process that only starts up.
# Tokens per CPU-second (CPU time of all the process's threads) are printed beside the
# wall-clock rates, and the MFU is also given per CPU-second: on a loaded machine the
# wall-clock figures measure the load, the CPU-time ones the work per token.
# FLOPs per token (bench/README.md): 6 N + 12 L T C, N = 12 L C^2 + V C the weights of the
# matmuls (the tied head counted once), the second term the attention's q k^T and p v.
# The PyTorch side is skipped, with a note, when /usr/bin/python3 cannot import torch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REPS=${REPS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
bench="$BUILD_DIR/bench/ouro_bench"
[ -x "$bench" ] || { echo "run_gpt: $bench not built (make build)" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$bench" "$REPS" "$SECONDS_PER_RUN" <<'PY'
import json, os, statistics, subprocess, sys

bench, reps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
have_torch = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0
peer = os.path.join("bench", "gpt_torch.py")
V, T, C, L = 256, 128, 128, 4
N = 12 * L * C * C + V * C
FLOPS_PER_TOKEN = 6 * N + 12 * L * T * C
rates = {}  # (mode, who, threads) -> [(wall rate, cpu rate) per rep]

def add(key, rate, cpu_rate):
    rates.setdefault(key, []).append((rate, cpu_rate))

def native_core():
    wanted = os.environ.get("OURO_BENCH_OPENBLAS_CORETYPE", "")
    if wanted:
        return None if wanted == "default" else wanted
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None

core = native_core()
sgemm_env = dict(os.environ, OPENBLAS_VERBOSE="2")
if core:
    sgemm_env["OPENBLAS_CORETYPE"] = core
sgemm_core = "?"

def run_cases(pattern, env=None):
    done = subprocess.run([bench, f"--benchmark_filter={pattern}", f"--benchmark_min_time={seconds}",
                           "--benchmark_format=json"], capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout)["benchmarks"], done.stderr

def measured(b):
    """(mode, who, threads), wall-clock rate, rate per CPU-second of one benchmark case."""
    parts = b["run_name"].split("/")
    threads = int(next(p for p in parts if p.startswith("threads:")).split(":")[1])
    mode, who = (parts[2], "ouro") if parts[1] == "ouro" else (parts[1], "")
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    items = b["items_per_second"] * b["real_time"] * scale
    return (mode, who, threads), b["items_per_second"], items / (b["cpu_time"] * scale)

def add_cases(cases):
    for b in cases:
        add(*measured(b))

# The machine's speed drifts by 10-30% over tens of seconds (other tenants), so each training
# case is measured between two cblas_sgemm runs at the same thread count, and its MFU
# reference is their mean: the yardstick taken in the same seconds as the step, not a minute
# away. ouro's own GEMM follows, the generation cases after that.
for rep in range(reps):
    for threads in (1, 2):
        before, log = run_cases(f"^gpt/sgemm/threads:{threads}/", sgemm_env)
        sgemm_core = next((line.split(":", 1)[1].strip() for line in log.splitlines() if line.startswith("Core:")), "?")
        add_cases(run_cases(f"^gpt/ouro/train/threads:{threads}/")[0])
        after, _ = run_cases(f"^gpt/sgemm/threads:{threads}/", sgemm_env)
        key, rate_before, cpu_before = measured(before[0])
        _, rate_after, cpu_after = measured(after[0])
        add(key, (rate_before + rate_after) / 2, (cpu_before + cpu_after) / 2)
        add_cases(run_cases(f"^gpt/ouro-gemm/threads:{threads}/")[0])
    add_cases(run_cases("^gpt/ouro/generate")[0])
    if have_torch:
        for mode in ("train", "generate", "generate-cached"):
            for threads in (1, 2):
                r = json.loads(subprocess.run(["/usr/bin/python3", peer, mode, str(threads), str(seconds)],
                                              capture_output=True, text=True, check=True).stdout)
                add((mode, "pytorch", threads), r["tokens_per_second"], r["tokens_per_cpu_second"])

def median(key, i):
    return statistics.median(r[i] for r in rates[key])

def mfu(key, threads, reference, i):
    """Median over repetitions of (model FLOP/s) / (GEMM FLOP/s of the same repetition)."""
    return statistics.median(run[i] * FLOPS_PER_TOKEN / ref[i]
                             for run, ref in zip(rates[key], rates[(reference, "", threads)]))

print(f"FLOPs per token: 6 N + 12 L T C = 6 * {N:,} + {12 * L * T * C:,} = {FLOPS_PER_TOKEN:,}")
print(f"cblas_sgemm: OpenBLAS core {sgemm_core}" + (f" (OPENBLAS_CORETYPE={core})" if core else " (as installed)"))
for threads in (1, 2):
    print(f"GEMM 1024^3 at {threads} thread(s): cblas_sgemm {median(('sgemm', '', threads), 0) / 1e9:6.1f} GFLOP/s "
          f"({median(('sgemm', '', threads), 1) / 1e9:6.1f} per CPU-second), ouro gemm "
          f"{median(('ouro-gemm', '', threads), 0) / 1e9:6.1f} GFLOP/s ({median(('ouro-gemm', '', threads), 1) / 1e9:6.1f} per CPU-second)")
print(f"{'mode':<16} {'framework':<9} {'threads':>7} {'tokens/s':>10} {'per CPU-s':>10}   "
      f"{'MFU vs sgemm':>12} {'(CPU-s)':>8}   {'MFU vs ouro gemm':>16} {'(CPU-s)':>8}")
best = {}
for (mode, who, threads) in sorted(k for k in rates if k[1]):
    key = (mode, who, threads)
    wall, cpu = median(key, 0), median(key, 1)
    best[(mode, who)] = max(best.get((mode, who), 0), wall)
    line = f"{mode:<16} {who:<9} {threads:>7} {wall:>10,.0f} {cpu:>10,.0f}"
    if mode == "train":
        line += (f"   {mfu(key, threads, 'sgemm', 0):>12.0%} {mfu(key, threads, 'sgemm', 1):>8.0%}"
                 f"   {mfu(key, threads, 'ouro-gemm', 0):>16.0%} {mfu(key, threads, 'ouro-gemm', 1):>8.0%}")
    print(line)
for threads in (1, 2):
    per_rep = sorted(run[0] * FLOPS_PER_TOKEN / ref[0]
                     for run, ref in zip(rates[("train", "ouro", threads)], rates[("sgemm", "", threads)]))
    print(f"train ouro {threads} thread(s), MFU vs sgemm in each repetition: " + ", ".join(f"{x:.0%}" for x in per_rep))
if have_torch:
    for mode in ("train", "generate", "generate-cached"):
        print(f"{mode}: ouro best / pytorch best = {best[(mode, 'ouro')] / best[(mode, 'pytorch')]:.2f}x")
else:
    print("pytorch: skipped (/usr/bin/python3 cannot import torch)")

def peak_mib(command):
    env = dict(os.environ, OURO_NUM_THREADS="1", OMP_NUM_THREADS="1")
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    return usage.ru_maxrss / 1024  # Linux reports KiB

print("peak resident memory (ru_maxrss of a separate process, 1 thread):")
rows = [("ouro", [bench, "--benchmark_filter=^gpt/ouro/train/threads:1/", "--benchmark_min_time=1"],
         [bench, "--benchmark_filter=^no-such-case$"])]
if have_torch:
    rows.append(("pytorch", ["/usr/bin/python3", peer, "train", "1", "1"], ["/usr/bin/python3", "-c", "import torch"]))
for who, train, idle in rows:
    total, start = peak_mib(train), peak_mib(idle)
    print(f"  {who:<8} training {total:8.1f} MiB   start-up only {start:8.1f} MiB   training's share {total - start:8.1f} MiB")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
