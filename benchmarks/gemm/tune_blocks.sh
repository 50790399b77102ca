#!/bin/sh
# Compile csrc/gemm.c with the tuning hook and sweep block sizes (arguments: see tune_blocks.py).
set -e
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LIB="${TMPDIR:-/tmp}/tg_gemm_tune.so"
${CC:-gcc} -std=c11 -O3 -fopenmp -pthread -fPIC -shared -DTG_GEMM_TUNING -I"$ROOT/csrc" "$ROOT"/csrc/gemm*.c "$ROOT/csrc/runtime.c" "$ROOT/csrc/team.c" -o "$LIB"
exec "${PYTHON:-python}" "$ROOT/benchmarks/gemm/tune_blocks.py" --lib "$LIB" "$@"
