#!/bin/sh
# Compile csrc/gemm.c like the package build does (no -march: SIMD chosen at run time) into a
# private shared library and run the side-by-side harness.  Extra arguments go to the harness.
set -e
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PYTHON:-python}"
LIB="${TMPDIR:-/tmp}/tg_gemm_bench.so"
${CC:-gcc} -std=c11 -O3 -fopenmp -pthread -fPIC -shared -I"$ROOT/csrc" "$ROOT"/csrc/gemm*.c "$ROOT/csrc/runtime.c" "$ROOT/csrc/team.c" -o "$LIB"
exec "$PY" "$ROOT/benchmarks/gemm/bench_gemm.py" --lib "$LIB" "$@"
