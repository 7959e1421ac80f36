#!/bin/sh
# Runs one example config for a couple of steps (ctest: Cli.ExampleConfig.<name>): train into a
# fresh run directory, inspect the checkpoint, then sample or forecast from it by model type.
# usage: run_example_config.sh OURO CONFIG WORKDIR
set -eu
ouro=$1 config=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
"$ouro" train "$config" --set train.run_dir="$work/run" --set train.max_steps=2 --set train.progress=silent
"$ouro" inspect "$work/run" > "$work/inspect.txt"
grep -q "parameters:" "$work/inspect.txt"
type=$(sed -n 's/^type = "\(.*\)"/\1/p' "$work/run/config.toml" | head -n 1)
case "$type" in
  char_lstm|gpt) "$ouro" generate "$work/run" --prompt "The " --max-tokens 20 --seed 1 ;;
  forecaster)
    data=$(sed -n 's/^path = "\(.*\)"/\1/p' "$work/run/config.toml" | head -n 1)
    "$ouro" forecast "$work/run" --data "$data" --horizon 3 ;;
esac
