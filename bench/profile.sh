#!/usr/bin/env bash
# profile.sh: where a training iteration's CPU time goes (make profile).
#
# Records bench_gan's iterations with `perf record` (cycles, all threads) and
# sums the samples into the parts a step is made of, so a change can be
# judged by what it moved:
#
#   micro-kernels       the multiply-adds themselves: the GEMM's (micro_kernel,
#                       gemm_rect), the direct conv forward's (direct_tile,
#                       inlined into conv_direct_forward's loop, whose tile
#                       set-up and stores are counted here too: ~1% of it)
#                       and the direct backward data's (direct_taps, inlined
#                       into conv_direct_backward_data's loop: likewise its
#                       tap-order set-up, taps' sums and stores), and the
#                       first and last layers' direct loops (conv_first_*,
#                       conv_last_*: their gathers and stores are counted
#                       here too)
#   packing             copying operands into the micro-kernel's order:
#                       pack_a/pack_b, the 8x8 register transposes, implicit
#                       im2col (pack_patches, pack_cols, pack_gy*)
#   stores, col2im      writing GEMM tiles back: conv outputs (store_y) and
#                       backward-data's col2im adds (store_col2im)
#   winograd transforms conv_winograd.c's input, filter and output
#                       transforms (its GEMMs count as micro-kernels and
#                       packing, its channels-last copies as packing)
#   batch norm          cpu_bn_* forward and backward
#   elementwise         activations and their masks, tanh, sums, fills, copies
#                       between graph nodes
#   optimizer           Adam's update (ex_adam_step)
#   memory              memset/memmove, page faults, allocation
#   threading           libgomp (spinning, barriers, wake-ups) and the
#                       kernel's scheduler and futex work
#   noise (bench)       the bench's own N(0,1) sampler (log, cos)
#   other               everything else
#
#   bash bench/profile.sh [WORKLOAD...]      default: mlp_b64 dcgan32_mnist_b128
# Only the timed iterations are sampled (not bench_gan's warm-up steps).
# Env: ITERS (default 100 for mlp_b64, 8 otherwise), THREADS (default all
# cores), PERF_OUT (default /tmp), BENCH_FLAGS (extra bench_gan flags).
# Runs with the chapters' OpenMP settings (OMP_WAIT_POLICY=passive,
# GOMP_SPINCOUNT=1000) unless you set them. Needs perf (linux-perf); where
# perf cannot read the counters (some containers), it says so and stops.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build/solutions}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:-"-std=c11 -D_POSIX_C_SOURCE=200809L -O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp -Icommon -Icommon/run"}
LIB=${LIB:-$BUILD/libganbook.a}
OUT=${PERF_OUT:-/tmp}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
if ! command -v perf >/dev/null 2>&1; then
    echo "error: perf not found" >&2
    echo "HINT: apt-get install linux-perf (Debian) or linux-tools-generic (Ubuntu)" >&2
    exit 1
fi
[ $# -gt 0 ] || set -- mlp_b64 dcgan32_mnist_b128
exe=$BUILD/bench/bench_gan_profile
mkdir -p "$(dirname "$exe")"
# shellcheck disable=SC2086  # CFLAGS is a list of flags
$CC $CFLAGS -g bench/bench_gan.c "$LIB" -lm -o "$exe" || exit 1
threads=${THREADS:-$(nproc)}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $threads thread(s)," \
    "OMP_WAIT_POLICY=$OMP_WAIT_POLICY GOMP_SPINCOUNT=$GOMP_SPINCOUNT, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for w in "$@"; do
    iters=${ITERS:-$(case $w in mlp*) echo 100 ;; *) echo 8 ;; esac)}
    data=$OUT/profile-$w.data
    # perf starts disabled (-D -1) and bench_gan turns it on through a
    # control fifo once its warm-up steps are done, and off after the timed
    # ones: the first steps' page faults (about 200,000 of them in
    # wgangp32's first step, 6.5% of all samples when they were counted,
    # under the virtual machine's pvm_irq_enable) are not what a step costs.
    ctl=$(mktemp -u "${TMPDIR:-/tmp}/ganbook-perf-ctl.XXXXXX")
    mkfifo "$ctl" || exit 1
    # shellcheck disable=SC2086
    if ! line=$(perf record -q -D -1 --control "fifo:$ctl" -o "$data" "$exe" --only "$w" --threads "$threads" \
        --iters "$iters" --perf-ctl "$ctl" ${BENCH_FLAGS:-} 2>/dev/null | grep "^bench $w "); then
        rm -f "$ctl"
        echo "error: perf record failed for $w" >&2
        echo "HINT: perf may need kernel.perf_event_paranoid <= 2 (sysctl), or run as root; --control needs perf 5.9 or newer" >&2
        exit 1
    fi
    rm -f "$ctl"
    echo
    echo "$line" | cut -d'(' -f1
    perf report -i "$data" --no-children --sort dso,symbol --stdio 2>/dev/null | awk '
        /^#/ || !/%/ { next }
        {
            pct = $1; sub("%", "", pct); dso = $2; sym = $4
            if (sym ~ /^(micro_kernel|gemm_rect|direct_tile|direct_taps|conv_direct_forward|conv_direct_backward_data|conv_first_|conv_last_)/) part = "micro-kernels"
            else if (sym ~ /^(pack_|transpose8x8|k_transpose)/) part = "packing"
            else if (sym ~ /^store_/) part = "stores, col2im"
            else if (sym ~ /^(conv_winograd_|transform_|input_tile|filter_tile|add_to_outputs|write_output)/) part = "winograd transforms"
            else if (sym ~ /bn_/) part = "batch norm"
            else if (sym ~ /adam/) part = "optimizer"
            else if (dso ~ /libgomp/ || sym ~ /futex|sched|switch|wake|spin_unlock|idle|schedule/) part = "threading"
            else if (sym ~ /memset|memmove|memcpy|page|clear_page|malloc|free|alloc/) part = "memory"
            else if (sym ~ /^(normal|uniform01|__cos|__ieee754_log|__log|__sin)/) part = "noise (bench)"
            else if (sym ~ /leaky|slope|unary|binary|tanh|expm1|exp|accumulate|sum_to|fill|repeat|bce|mean/) part = "elementwise"
            else part = "other"
            share[part] += pct
        }
        END {
            n = split("micro-kernels|packing|stores, col2im|winograd transforms|batch norm|elementwise|optimizer|memory|threading|noise (bench)|other", order, "|")
            for (i = 1; i <= n; i++) printf "  %-20s %5.1f%%\n", order[i], share[order[i]]
        }'
done
echo
echo "(shares of the process's CPU samples, all threads; perf data in $OUT/profile-<workload>.data)"
