#!/usr/bin/env bash
# run_bench.sh: `make bench`. Builds each benchmark program against the
# library and prints its table. Every number a README quotes about speed
# comes from here, measured side by side with its yardstick in one run.
#
# Environment (set by the Makefile): BUILD (build directory), CC, CFLAGS,
# LIB (the library archive). THREADS overrides the thread count (default:
# every core, `nproc`); the library and the yardsticks get the same count.
#
# Layout: one function per section (section_<name>), each building what it
# needs under $BUILD/bench/ and printing a titled table; the list at the
# bottom runs them in order. To add a section, write a function and append
# its name to SECTIONS.
set -u

BUILD=${BUILD:-build/solutions}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--std=c11 -O3 -march=native -fopenmp -Icommon}
LIB=${LIB:-$BUILD/libganbook.a}
THREADS=${THREADS:-$(nproc 2>/dev/null || echo 1)}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
BENCH_DIR=$BUILD/bench
mkdir -p "$BENCH_DIR"

if [ ! -f "$LIB" ]; then
    echo "bench: library $LIB not found" >&2
    echo "HINT: run it through make: make bench" >&2
    exit 1
fi

# Does this compiler find OpenBLAS's cblas.h and library? (Debian:
# libopenblas-dev puts cblas.h in /usr/include/<triplet>/, on the default
# include path.)
have_openblas() {
    printf '#include <cblas.h>\nint main(void){float a=1,b=1,c=0;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1.0f,&a,1,&b,1,0.0f,&c,1);return c!=1.0f;}\n' |
        $CC -x c - -o "$BENCH_DIR/.openblas_probe" -lopenblas >/dev/null 2>&1 && "$BENCH_DIR/.openblas_probe"
}

# --- GEMM: k_gemm against OpenBLAS sgemm -------------------------------------
section_gemm() {
    echo "== GEMM (common/gemm.c) vs OpenBLAS, C = A B, n x n x n, $THREADS thread(s)"
    local exe=$BENCH_DIR/bench_gemm blas_flags=-lopenblas blas_def=
    if ! have_openblas; then
        blas_flags=
        blas_def=-DNO_OPENBLAS
    fi
    # shellcheck disable=SC2086  # CFLAGS is a list of flags
    if ! $CC $CFLAGS $blas_def bench/bench_gemm.c "$LIB" $blas_flags -lm -o "$exe"; then
        echo "bench_gemm: build failed"
        return 1
    fi
    "$exe" 256 512 1024
}

SECTIONS=(section_gemm)

status=0
for section in "${SECTIONS[@]}"; do
    "$section" || status=1
    echo
done
exit $status
