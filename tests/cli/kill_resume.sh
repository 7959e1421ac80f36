#!/bin/sh
# Kill test (ctest: Cli.KillResume): `ouro train` is killed with SIGKILL at KILLS seeded random
# moments and continued each time with `ouro resume`; the final checkpoint's tensors (weights,
# optimizer state, RNG states) and every metrics record but the throughput must equal an
# uninterrupted run's byte for byte.
#
# Checkpoints are frequent and OURO_TEST_ATOMIC_WRITE_DELAY_MS makes each atomic write pause
# between writing its temporary file and renaming it, so that many kills land inside a
# checkpoint (or checkpoints/latest) write; the script counts those by the temporary files
# they leave, and requires at least one (each kill lands in a write with probability > 1/2).
#
# usage: kill_resume.sh OURO WORKDIR [SEED] [KILLS] [STEPS]
set -eu
ouro=$1 work=$2 seed=${3:-1} kills=${4:-10} steps=${5:-360}
export OURO_NUM_THREADS=${OURO_NUM_THREADS:-1} OURO_TEST_ATOMIC_WRITE_DELAY_MS=${OURO_TEST_ATOMIC_WRITE_DELAY_MS:-40}

rm -rf "$work"
mkdir -p "$work"
# A small character LSTM on the fortunes corpus: a real config, a few ms per step. Stateful, as
# examples/char_lstm_fortunes.toml is: each window starts from the previous one's final state,
# which the checkpoints carry ("carried.*" tensors), so a mid-epoch resume continues exactly.
cat > "$work/config.toml" <<EOF
[model]
type = "char_lstm"
embedding_dim = 16
hidden_size = 32
dropout = 0.1
[data]
path = "fortunes"
seq_len = 16
stateful = true
validation_fraction = 0.01
[optim]
name = "adam"
lr = 0.004
clip_grad_norm = 1.0
[schedule]
type = "warmup_cosine"
warmup_steps = 20
[train]
run_dir = "unused"
epochs = 1
max_steps = $steps
batch_size = 8
log_every = 1
checkpoint_every = 7
keep_checkpoints = 2
progress = "silent"
EOF

train() {  # train RUN_DIR: a new run
  "$ouro" train "$work/config.toml" --set train.run_dir="$1" >> "$work/log.txt" 2>&1
}

start=$(date +%s)
train "$work/reference"

# The moments, seeded: uniform in [0.15 s, 0.9 s] after each start.
delays=$(awk -v seed="$seed" -v n="$kills" 'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.3f\n", 0.15 + 0.75 * rand() }')
run="$work/killed"
killed=0 in_write=0 finished=0
for delay in $delays; do
  # A checkpoint file without checkpoints/latest (killed between the two renames) resumes too.
  if [ -f "$run/checkpoints/latest" ] || ls "$run"/checkpoints/step-*.safetensors > /dev/null 2>&1; then
    "$ouro" resume "$run" >> "$work/log.txt" 2>&1 &
  else  # killed before its first checkpoint: start again (a new run refuses only a run with checkpoints)
    "$ouro" train "$work/config.toml" --set train.run_dir="$run" >> "$work/log.txt" 2>&1 &
  fi
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  status=0
  wait "$pid" || status=$?
  if [ "$status" -eq 0 ]; then
    finished=1
    echo "kill-resume: the run finished before kill $((killed + 1)) (${delay}s)"
    break
  fi
  [ "$status" -eq 137 ] || { echo "kill-resume: unexpected exit status $status"; cat "$work/log.txt"; exit 1; }
  killed=$((killed + 1))
  temps=$(find "$run" -name "*.tmp.$pid.*" 2>/dev/null | wc -l)  # this process's half-done writes
  [ "$temps" -gt 0 ] && in_write=$((in_write + 1))
  last=$(tail -n 1 "$run/metrics.jsonl" 2>/dev/null | sed -n 's/.*"step":\([0-9]*\).*/\1/p')
  echo "kill $killed after ${delay}s: last logged step ${last:-none}, latest $(cat "$run/checkpoints/latest" 2>/dev/null || echo none), temporary files $temps"
done
if [ "$finished" -eq 0 ]; then
  "$ouro" resume "$run" >> "$work/log.txt" 2>&1
fi

fail() { echo "kill-resume: $*"; exit 1; }
[ "$killed" -ge "$kills" ] || fail "only $killed of $kills kills landed before the run finished; raise STEPS"
[ "$in_write" -ge 1 ] || fail "no kill landed inside an atomic write"
[ -z "$(find "$run" -name '*.tmp.*')" ] || fail "temporary files left behind: $(find "$run" -name '*.tmp.*')"

# The tensors: everything after the safetensors header (the header's metadata names the run directory).
tensors() {
  header=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  tail -c +$((9 + header)) "$1" | cksum
}
ref_ckpt="$work/reference/checkpoints/$(cat "$work/reference/checkpoints/latest")"
run_ckpt="$run/checkpoints/$(cat "$run/checkpoints/latest")"
[ "$(basename "$ref_ckpt")" = "$(basename "$run_ckpt")" ] || fail "final checkpoints differ: $ref_ckpt vs $run_ckpt"
[ "$(tensors "$ref_ckpt")" = "$(tensors "$run_ckpt")" ] || fail "final tensors differ"

# Every record, without the throughput (timing); the two logs must be equal line for line.
records() { sed 's/,"samples_per_s":[^,}]*//; s/,"tokens_per_s":[^,}]*//' "$1"; }
records "$work/reference/metrics.jsonl" > "$work/reference.records"
records "$run/metrics.jsonl" > "$work/killed.records"
cmp -s "$work/reference.records" "$work/killed.records" ||
  { diff "$work/reference.records" "$work/killed.records" | head -n 20; fail "metrics logs differ"; }
[ "$(grep -c '"kind":"step"' "$work/killed.records")" -eq "$steps" ] || fail "expected $steps step records"
echo "kill-resume: $killed kills ($in_write inside an atomic write), final step $steps: tensors and" \
     "$(wc -l < "$work/killed.records") metrics records equal the uninterrupted run's ($(($(date +%s) - start)) s)"
