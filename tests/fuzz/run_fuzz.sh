#!/usr/bin/env bash
# run_fuzz.sh: fuzzes the readers of untrusted input for a bounded time each
# (make fuzz [FUZZ_SECONDS=30]):
#   fuzz_idx         idx_read          (datasets)
#   fuzz_checkpoint  ckpt_peek/_load   (--resume, --sample)
#   fuzz_flags       cli_parse         (every program's command line)
# With clang's libFuzzer (-fsanitize=fuzzer) the harnesses are coverage-guided
# and built with AddressSanitizer and UndefinedBehaviorSanitizer into
# build/fuzz; otherwise tests/fuzz/driver.c feeds them random mutations of
# the seeds (build/fuzz-plain, gcc, sanitizers too). The seeds are made here:
# IDX files from tests/fixtures/synthetic_mnist.sh, a valid checkpoint of the
# harness's model, a few command lines. A crash stops with the input saved
# (libFuzzer: build/fuzz/crash-*; driver: crash-<pid>.bin) and exit 1; rerun
# one input with build/fuzz/fuzz_X FILE. Rerun this after changing a reader.
# FUZZ_PLAIN=1 uses the plain driver even where libFuzzer is there.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
unset MAKEFLAGS MFLAGS MAKELEVEL
secs=${FUZZ_SECONDS:-30}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if [ "${FUZZ_PLAIN:-0}" != 1 ] && printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
    clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
    mode=libfuzzer CC=clang build=build/fuzz
    opt="-g -O1 -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link"
    link="-fsanitize=fuzzer $san"
else
    mode=plain CC=${CC:-gcc} build=build/fuzz-plain
    opt="-g -O1 -fno-omit-frame-pointer $san"
    link="$san tests/fuzz/driver.c"
fi
# the library is built with OpenMP when the compiler has it (Makefile): link it too
omp=$(printf 'int main(void){return 0;}' | $CC -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
echo "fuzz: $mode, $secs s per harness, objects in $build"
make --no-print-directory -s -j2 CC=$CC SRC=solutions BUILD=$build OPT="$opt" lib >/dev/null || exit 1
seeds=$build/seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{idx,checkpoint,flags}
ok=1
for h in idx checkpoint flags; do
    # shellcheck disable=SC2086
    $CC -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $opt -Icommon -Icommon/run tests/fuzz/fuzz_$h.c $link \
        $build/libganbook.a $omp -lm -o $build/fuzz_$h || { echo "fuzz: building fuzz_$h failed"; exit 1; }
done
bash tests/fixtures/synthetic_mnist.sh "$seeds/idxdata" 3 2
cp "$seeds"/idxdata/mnist/*-ubyte "$seeds/idx/"
# the fuzz finding: 262144 x 262144 x 268435456 = 2^64 items (wrapped to 0), kept as a seed
printf '\x00\x00\x08\x03\x00\x04\x00\x00\x00\x04\x00\x00\x10\x00\x00\x00' >"$seeds/idx/wrap-2-64"
GANBOOK_FUZZ_SEED=$seeds/checkpoint/good.bin $build/fuzz_checkpoint >/dev/null 2>&1 || { echo "fuzz: no checkpoint seed"; exit 1; }
printf -- '--steps\0 100\0--dataset\0mnist' >"$seeds/flags/a"
printf -- '--lr=0.5\0--batch\0 7\0--out\0x\0--loss\0nonsaturating' >"$seeds/flags/b"
printf -- '--resume\0y\0--z-dim\0 4\0--beta1\0 0.9\0--seed\0 -3' >"$seeds/flags/c"
for h in idx checkpoint flags; do
    log=$build/fuzz_$h.log
    if [ $mode = libfuzzer ]; then
        mkdir -p "$build/corpus/$h"
        (cd "$build" && ASAN_OPTIONS=detect_leaks=0 ./fuzz_$h -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 "corpus/$h" "seeds/$h") >"$log" 2>&1
        rc=$?
        summary=$(grep -E '^(Done|stat::number_of_executed_units)' "$log" | head -n 1)
    else
        ASAN_OPTIONS=detect_leaks=0 $build/fuzz_$h "$secs" "$seeds/$h"/* >"$log" 2>&1
        rc=$?
        summary=$(tail -n 1 "$log")
    fi
    if [ $rc -eq 0 ]; then
        echo "fuzz_$h: ok  $summary"
    else
        ok=0
        echo "fuzz_$h: FAILED (exit $rc); the end of $log:"
        grep -v '^#[0-9]' "$log" | tail -n 30 | sed 's/^/    /'
    fi
done
[ $ok -eq 1 ]
