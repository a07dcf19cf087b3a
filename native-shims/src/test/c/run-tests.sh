#!/usr/bin/env bash
# Builds test_ls_shims.c against the built libls_shims.so and runs it in every pin mode that the
# test-only switches can force, so the fallback paths are checked on any machine.
# Usage: run-tests.sh <dir with libls_shims.so> <scratch dir>
set -euo pipefail
lib_dir="$1"
out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
gcc -O1 -Wall -Wextra -Werror -std=c11 -o "$out/test_ls_shims" "$here/test_ls_shims.c" -L"$lib_dir" -lls_shims -Wl,-rpath,"$lib_dir"
pass=0
fail=0
run() { # name, then env assignments
  local name="$1"; shift
  if env "$@" "$out/test_ls_shims" "$name"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}
run default
run no-cuda LS_SHIMS_DISABLE_CUDA=1
run none LS_SHIMS_DISABLE_CUDA=1 LS_SHIMS_DISABLE_MLOCK=1
echo "native-shims C tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
