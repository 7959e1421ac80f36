#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ (built by `make fuzz-build` into BUILD_DIR/fuzz) for
# SECONDS each, JOBS at a time, starting from the committed seeds in fuzz/corpus/<target>/.
# New inputs go to WORK/corpus/<target>/ (the committed corpus is only read), crashes to
# WORK/artifacts/, logs to WORK/logs/. Prints per target: executions, coverage (libFuzzer's
# final cov/ft), corpus size, and exits 1 if any target crashed, hung, leaked or hit UB.
#   usage: scripts/run_fuzzers.sh BUILD_DIR SECONDS WORK [JOBS] [TARGET...]
set -uo pipefail

build_dir=${1:?build dir}
seconds=${2:?seconds per target}
work=${3:?scratch directory}
jobs=${4:-1}
shift $(( $# < 4 ? $# : 4 ))
root=$(cd "$(dirname "$0")/.." && pwd)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

mkdir -p "$work/logs" "$work/artifacts"
run_one() {
  local t=$1
  local bin="$build_dir/fuzz/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (make fuzz-build)" > "$work/logs/$t.log"
    return 1
  fi
  mkdir -p "$work/corpus/$t"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a parser that allocates from a
  # size field without checking it runs out here rather than on a user's machine.
  # The first corpus directory receives new inputs; the seeds are read only.
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t" "$root/fuzz/corpus/$t" \
    > "$work/logs/$t.log" 2>&1
}

# A simple pool: at most `jobs` targets at a time.
declare -A pid_of
status=0
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_one "$t" &
  pid_of[$t]=$!
done
failed=()
for t in "${targets[@]}"; do
  if ! wait "${pid_of[$t]}"; then failed+=("$t"); status=1; fi
done

printf '%-12s %12s %8s %8s %8s %8s %8s\n' target executions exec/s cov ft corpus rss_mb
for t in "${targets[@]}"; do
  log="$work/logs/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | awk '{print $2}')
  # The last status line carries the final coverage: "#N DONE cov: C ft: F corp: ..."
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]*' | awk '{print $2}')
  ft=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'ft: [0-9]*' | awk '{print $2}')
  corpus=$(find "$work/corpus/$t" "$root/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
  printf '%-12s %12s %8s %8s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "${rss:-?}"
done
for t in "${failed[@]}"; do
  echo
  echo "fuzz: target $t FAILED; the input is under $work/artifacts/$t-*; the end of $work/logs/$t.log:"
  tail -40 "$work/logs/$t.log"
done
exit $status
