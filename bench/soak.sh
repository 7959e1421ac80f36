#!/usr/bin/env bash
# Training soak: runs `ouro train` on a real config for a fixed time, samples the process's
# resident memory (VmRSS from /proc/PID/status) every few seconds into a CSV, then prints the
# figures after warm-up and at the end and the least-squares slope over the post-warm-up
# samples. A run whose memory is flat has a slope near 0 KiB/min; a leak of one buffer per step
# shows up as a steady positive slope (thousands of steps in 20 minutes).
#
# usage: bench/soak.sh [options] [-- extra `ouro train` arguments, e.g. --set optim.lr=0.001]
#   -m MINUTES   how long to train (default 20)
#   -i SECONDS   sampling interval (default 5)
#   -w SECONDS   warm-up excluded from the figures (default: a tenth of the run, at least 60)
#   -c CONFIG    the config to train (default examples/gpt_pretrain.toml)
#   -o CSV       where the samples go (default soak-rss.csv); columns: seconds,rss_kib
#   -b OURO      the ouro binary (default build/ouro)
#   -d DIR       run directory (default: a fresh temporary one, removed at the end)
# Threads: OURO_NUM_THREADS (default 1 here, so the soak fits beside other work).
# Example (the 20-minute soak of the hardening issue):
#   nice -n 10 bench/soak.sh -m 20 -o soak-rss.csv
set -euo pipefail

minutes=20 interval=5 warmup="" config=examples/gpt_pretrain.toml csv=soak-rss.csv
ouro=build/ouro run_dir=""
while getopts "m:i:w:c:o:b:d:h" opt; do
  case "$opt" in
    m) minutes=$OPTARG ;;
    i) interval=$OPTARG ;;
    w) warmup=$OPTARG ;;
    c) config=$OPTARG ;;
    o) csv=$OPTARG ;;
    b) ouro=$OPTARG ;;
    d) run_dir=$OPTARG ;;
    h) sed -n '2,19p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ -x "$ouro" ] || { echo "soak: ouro binary '$ouro' not found (build first, or pass -b)" >&2; exit 2; }
[ -f "$config" ] || { echo "soak: config '$config' not found" >&2; exit 2; }

duration=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
if [ -z "$warmup" ]; then warmup=$(( duration / 10 > 60 ? duration / 10 : 60 )); fi
cleanup_dir=""
if [ -z "$run_dir" ]; then
  run_dir=$(mktemp -d "${TMPDIR:-/tmp}/ouro-soak.XXXXXX")/run
  cleanup_dir=$(dirname "$run_dir")
fi
log="${csv%.csv}.log"

# The trainer's own time limit sits past ours, so the run is still training when sampled last;
# SIGINT then makes it write a final checkpoint and exit 130 (resumable), as a user's Ctrl-C.
export OURO_NUM_THREADS=${OURO_NUM_THREADS:-1}
"$ouro" train "$config" --set train.run_dir="$run_dir" --set train.progress=silent \
  --set train.max_seconds=$((duration + 600)) "$@" > "$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT

echo "seconds,rss_kib" > "$csv"
start=$(date +%s)
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  if [ -z "$rss" ]; then
    echo "soak: ouro train exited after ${elapsed} s (see $log):" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  echo "$elapsed,$rss" >> "$csv"
  [ "$elapsed" -ge "$duration" ] && break
  sleep "$interval"
done

kill -INT "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
steps=$(sed -n 's/.*"step": *\([0-9]*\).*/\1/p' "$run_dir/metrics.jsonl" 2>/dev/null | tail -n 1)
[ -n "$cleanup_dir" ] && rm -rf "$cleanup_dir"
if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
  echo "soak: ouro train exited with $status on SIGINT (see $log)" >&2
  exit 1
fi

# Start figure: the mean over the first minute after warm-up; end figure: the mean over the
# last minute (means, so one sample caught mid-allocation does not decide the result).
awk -F, -v w="$warmup" -v d="$duration" -v steps="${steps:-?}" -v csv="$csv" '
  NR == 1 || $1 < w { next }
  {
    n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
    if ($1 < w + 60) { s += $2; sn++ }
    if ($1 >= d - 60) { e += $2; en++ }
    if (min == "" || $2 < min) min = $2
    if ($2 > max) max = $2
  }
  END {
    if (n < 3 || sn == 0 || en == 0) { print "soak: too few samples after warm-up"; exit 1 }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx) * 60
    printf "soak: %d samples in %s (%d s, warm-up %d s), last logged step %s\n", NR - 1, csv, d, w, steps
    printf "  RSS after warm-up %.1f MiB, at the end %.1f MiB (change %+.1f MiB)\n", s / sn / 1024, e / en / 1024, (e / en - s / sn) / 1024
    printf "  min %.1f MiB, max %.1f MiB after warm-up; slope %+.1f KiB/min\n", min / 1024, max / 1024, slope
  }' "$csv"
