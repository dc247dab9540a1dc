#!/usr/bin/env bash
# run_bench.sh: `make bench`. Builds each benchmark program against the
# library and prints its table. Every number a README quotes about speed
# comes from here, measured side by side with its yardstick in one run.
#
# Environment (set by the Makefile): BUILD (build directory), CC, CFLAGS,
# LIB (the library archive). THREADS overrides the thread count (default:
# every core, `nproc`); the library and the yardsticks get the same count.
# GAN section: BENCH_ALL=1 adds the two slow workloads (dcgan64_rgb_b128,
# wgangp32_mnist_b64, minutes each on a 2-core CPU); BENCH_ROUNDS=N (default
# 1) runs ours and PyTorch N times in turns and keeps the best of each;
# TORCH_BENCH points at torch_gan_bench.py (default ../shared/bench/ beside
# the repository); PYTHON picks the interpreter (default /usr/bin/python3).
# BENCH_ONLY=gemm|gan runs one section.
#
# Layout: one function per section (section_<name>), each building what it
# needs under $BUILD/bench/ and printing a titled table; the list at the
# bottom runs them in order. To add a section, write a function and append
# its name to SECTIONS.
set -u

BUILD=${BUILD:-build/solutions}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--std=c11 -O3 -march=native -fno-math-errno -fopenmp -Icommon}
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

# --- GAN training iterations: bench_gan.c against PyTorch on the CPU -----------
# One row per workload of shared/benchmarks.md: ours and PyTorch's ms per
# iteration, run back to back with the same thread count, and the ratio
# PyTorch / ours (above 1: ours is faster). On a shared 2-core machine only
# ratios from one run mean anything: the load average is printed with them.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TORCH_BENCH=${TORCH_BENCH:-$REPO_ROOT/../shared/bench/torch_gan_bench.py}
PYTHON=${PYTHON:-/usr/bin/python3}

# Same iteration counts on both sides: torch_gan_bench.py --quick times 20
# iterations after 10 warm-up ones, on the CPU 5 after 3 for every name that
# contains "64" (mlp_b64 included).
gan_iters() { case "$1" in *64*) echo "--warmup 3 --iters 5" ;; *) echo "--warmup 10 --iters 20" ;; esac; }

# The smaller of two numbers ("" counts as missing).
min_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "" || a + 0 <= b + 0) print a; else print b }'; }

section_gan() {
    local exe=$BENCH_DIR/bench_gan rounds=${BENCH_ROUNDS:-1}
    # Idle OpenMP threads sleep instead of spinning, on both sides (PyTorch's
    # CPU build uses the same libgomp). By default a waiting libgomp thread
    # spins ~300,000 rounds first; when other work keeps the cores busy, the
    # spinning takes the core its own team is waiting for. Measured on the
    # project's 2-core machine at load average ~5, dcgan32_mnist_b128 with 2
    # threads: ours 2069 -> 767 ms/iter (CPU time 1357 -> 501 ms), PyTorch
    # 9300-12300 -> 1510 ms/iter. Set OMP_WAIT_POLICY yourself to compare.
    local OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
    export OMP_WAIT_POLICY
    local workloads=(mlp_b64 dcgan32_mnist_b128)
    [ "${BENCH_ALL:-0}" = 1 ] && workloads+=(dcgan64_rgb_b128 wgangp32_mnist_b64)
    echo "== GAN training iterations (bench/bench_gan.c) vs PyTorch, cpu, $THREADS thread(s), OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    # shellcheck disable=SC2086  # CFLAGS is a list of flags
    if ! $CC $CFLAGS bench/bench_gan.c "$LIB" -lm -o "$exe"; then
        echo "bench_gan: build failed"
        return 1
    fi
    local torch=1
    if [ ! -f "$TORCH_BENCH" ]; then
        echo "PyTorch side skipped: $TORCH_BENCH not found (set TORCH_BENCH=path/to/torch_gan_bench.py)"
        torch=0
    elif ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
        echo "PyTorch side skipped: $PYTHON cannot import torch. HINT: apt-get install python3-torch"
        torch=0
    fi
    local rows=() w r line ours peak theirs status=0
    for w in "${workloads[@]}"; do
        ours="" peak="" theirs=""
        for ((r = 0; r < rounds; r++)); do
            # shellcheck disable=SC2046  # gan_iters prints several flags
            line=$("$exe" --only "$w" --threads "$THREADS" $(gan_iters "$w") | grep "^bench $w ")
            if [ -z "$line" ]; then
                echo "bench_gan: no result for $w"
                status=1
                continue
            fi
            echo "$line"
            ours=$(min_of "$ours" "$(echo "$line" | awk '{print $4}')")
            peak=$(echo "$line" | sed -n 's/.*(peak \([0-9.]*\) MiB.*/\1/p')
            if [ $torch = 1 ]; then
                # Its line for this workload: "<name>_fp32 {'ms_per_iter': 45.1, ...}"
                line=$("$PYTHON" "$TORCH_BENCH" --device cpu --threads "$THREADS" --quick --only "$w" 2>&1 |
                    grep "^${w}_fp32 ")
                if [ -n "$line" ]; then
                    echo "torch $line"
                    theirs=$(min_of "$theirs" "$(echo "$line" | sed -n "s/.*'ms_per_iter': \([0-9.]*\).*/\1/p")")
                else
                    echo "torch_gan_bench.py: no result for $w"
                fi
            fi
        done
        [ -n "$ours" ] && rows+=("$w $ours ${theirs:--} ${peak:--}")
    done
    echo
    printf '%-20s %12s %15s %8s %10s\n' workload "ours ms/it" "PyTorch ms/it" ratio "peak MiB"
    local row
    for row in "${rows[@]}"; do
        echo "$row" | awk '{ ratio = ($3 == "-") ? "-" : sprintf("%.2f", $3 / $2)
                             printf "%-20s %12.2f %15s %8s %10s\n", $1, $2, $3, ratio, $4 }'
    done
    [ "$rounds" -gt 1 ] && echo "(best of $rounds rounds each, taken in turns)"
    echo "ratio = PyTorch / ours (above 1: ours is faster); target (shared/benchmarks.md): >= 2 for mlp_b64 and dcgan32_mnist_b128"
    return $status
}

SECTIONS=(section_gemm section_gan)
# BENCH_ONLY=gan (or gemm) runs one section.
[ -n "${BENCH_ONLY:-}" ] && SECTIONS=("section_$BENCH_ONLY")

status=0
for section in "${SECTIONS[@]}"; do
    "$section" || status=1
    echo
done
exit $status
