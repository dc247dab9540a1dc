#!/usr/bin/env bash
# test_cuda_emu.sh: the CUDA kernels under the project's emulator (cuda/emu/),
# no GPU needed. make test builds the programs first ($BUILD/emu/...).
#   1. the planted bugs of tests/cuda/planted_bugs.cu: the correct kernels
#      pass in forward and reverse thread order; a missing __syncthreads, a
#      missing bounds check (guard zone, and AddressSanitizer at the kernel's
#      line), a barrier skipped by an early return, a shuffle with an exited
#      lane, uninitialized device memory and a wrong cudaMemcpy kind are each
#      caught;
#   2. every kernel-lab program (cuda/*.cu with a LAB_MAIN section) in --quick
#      mode: each kernel version against its CPU reference on small awkward
#      shapes, in forward and reverse thread order.
# CHECK_VERBOSE=1 lists every check.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build/solutions}
emu=$BUILD/emu
tmp=tests/tmp/cuda_emu
rm -rf "$tmp"
mkdir -p "$tmp"
if ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    echo "test_cuda_emu: skipped: no C++ compiler (g++ or clang++) to build the emulator"
    exit 0
fi
pass=0
fail=0
ok() { pass=$((pass + 1)); [ "${CHECK_VERBOSE:-0}" = 1 ] && echo "  ok  : $1"; return 0; }
bad() { fail=$((fail + 1)); echo "  FAIL: $1"; }
show() { sed 's/^/        /' "$1" | tail -n 15; }

# caught NAME LOG STATUS PATTERN: the run failed (exit 1..127) and said PATTERN
caught() {
    if [ "$3" -ne 0 ] && [ "$3" -lt 128 ] && grep -q -- "$4" "$2"; then
        ok "$1"
    else
        bad "$1 (exit $3, expected a failure saying '$4')"
        show "$2"
    fi
}
passes() {  # NAME LOG STATUS
    if [ "$3" -eq 0 ]; then ok "$1"; else bad "$1 (exit $3)"; show "$2"; fi
}

# --- 1. planted bugs -----------------------------------------------------------------
pb=$emu/tests/planted_bugs
pba=$emu/tests/planted_bugs_asan
if [ ! -x "$pb" ]; then
    bad "$pb is missing (make test builds it)"
else
    for order in 0 1; do
        CUDA_EMU_REVERSE=$order "$pb" ok >"$tmp/ok$order.log" 2>&1
        passes "correct kernels pass (reverse=$order)" "$tmp/ok$order.log" $?
    done
    # The race reads the neighbour below: forward order hides it (the
    # neighbour already ran), reverse order exposes it. Either way it must
    # not pass in both orders.
    CUDA_EMU_REVERSE=1 "$pb" nosync >"$tmp/nosync.log" 2>&1
    caught "missing __syncthreads: wrong result in reverse order" "$tmp/nosync.log" $? "MISMATCH neighbour_diff"
    "$pb" nobounds >"$tmp/nobounds.log" 2>&1
    caught "missing bounds check: guard zone overwritten" "$tmp/nobounds.log" $? \
        "after the end of the cudaMalloc allocation of 4000 bytes made at tests/cuda/planted_bugs.cu:.*'scale2'"
    "$pb" barrier >"$tmp/barrier.log" 2>&1
    caught "__syncthreads skipped by an early return" "$tmp/barrier.log" $? \
        "block (3,0,0): __syncthreads at tests/cuda/planted_bugs.cu:[0-9]* is reached by threads 0-231, but threads 232-255 exited"
    "$pb" shuffle >"$tmp/shuffle.log" 2>&1
    caught "shuffle with an exited lane" "$tmp/shuffle.log" $? "threads 232-255 of the mask had already exited"
    "$pb" uninit >"$tmp/uninit.log" 2>&1
    caught "uninitialized device memory reads NaN" "$tmp/uninit.log" $? "got nan"
    "$pb" kind >"$tmp/kind.log" 2>&1
    caught "cudaMemcpy with the wrong kind" "$tmp/kind.log" $? "the destination is device memory, but the kind says host"
fi
if [ ! -x "$pba" ]; then
    bad "$pba is missing (make test builds it)"
else
    ASAN_OPTIONS=detect_leaks=0 "$pba" ok >"$tmp/asan_ok.log" 2>&1
    passes "correct kernels pass under ASan" "$tmp/asan_ok.log" $?
    line=$(grep -n 'y\[i\] = 2.0f \* x\[i\];' tests/cuda/planted_bugs.cu | cut -d: -f1)
    ASAN_OPTIONS=detect_leaks=0 "$pba" nobounds >"$tmp/asan_nobounds.log" 2>&1
    caught "missing bounds check: ASan names the kernel's line" "$tmp/asan_nobounds.log" $? \
        "#0 .* in scale2(.*) .*tests/cuda/planted_bugs.cu:$line"
fi

# --- 2. the kernel-lab programs, quick validation, both thread orders ----------------------
labs=$(grep -l '^#ifdef LAB_MAIN' cuda/*.cu 2>/dev/null)
nlabs=0
for src in $labs; do
    name=$(basename "$src" .cu)
    prog=$emu/lab/$name
    nlabs=$((nlabs + 1))
    if [ ! -x "$prog" ]; then
        bad "$prog is missing (make test builds it)"
        continue
    fi
    for order in 0 1; do
        CUDA_EMU_REVERSE=$order "$prog" --quick >"$tmp/$name.$order.log" 2>&1
        passes "lab $name --quick (reverse=$order): every version matches the CPU" "$tmp/$name.$order.log" $?
    done
done

echo "test_cuda_emu: $pass passed, $fail failed ($nlabs lab programs)"
[ $fail -eq 0 ]
