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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
