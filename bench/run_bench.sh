#!/usr/bin/env bash
# run_bench.sh: `make bench`. Builds each benchmark program against the
# library and prints its table. Every number a README quotes about speed
# comes from here, measured side by side with its yardstick in one run.
#
# Environment (set by the Makefile): BUILD (build directory), CC, CFLAGS,
# LIB (the library archive). THREADS overrides the thread count (default:
# every core, `nproc`); the library and the yardsticks get the same count.
# GAN section: mlp_b64, dcgan32_mnist_b128 and wgangp32_mnist_b64 by default;
# BENCH_ALL=1 adds the slow one, dcgan64_rgb_b128 (about a minute on each
# side on a 2-core CPU); BENCH_ROUNDS=N (default
# 1) runs ours and PyTorch N times in turns and keeps the best of each;
# TORCH_BENCH points at torch_gan_bench.py (default ../shared/bench/ beside
# the repository); PYTHON picks the interpreter (default /usr/bin/python3).
# BENCH_LAYERS=1 prints, under each of our GAN rounds, the conv kernels' time
# per layer (bench_gan --layers).
# BENCH_ONLY=machine|gemm|convs|gan runs one section (gemm and gan measure the
# machine's peak first anyway, for their "% of peak" columns).
# BENCH_CORETYPES="default Haswell SkylakeX ..." runs the OpenBLAS side (the
# GEMM yardstick and PyTorch, whose BLAS is the same library) once under each
# kernel set (OPENBLAS_CORETYPE; "default" = unset, OpenBLAS's own choice)
# and keeps the fastest, named beside it; by default it runs once, under
# whatever the environment says. A build narrower than the CPU (ARCH=haswell
# on an AVX-512 machine) narrows the PyTorch side the same way (oneDNN capped
# at AVX2, OpenBLAS on Haswell kernels): see narrow_pytorch below.
#
# Layout: one function per section (section_<name>), each building what it
# needs under $BUILD/bench/ and printing a titled table; the list at the
# bottom runs them in order. To add a section, write a function and append
# its name to SECTIONS.
set -u

BUILD=${BUILD:-build/solutions}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--std=c11 -O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp -Icommon -Icommon/run}
LIB=${LIB:-$BUILD/libganbook.a}
THREADS=${THREADS:-$(nproc 2>/dev/null || echo 1)}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
BENCH_DIR=$BUILD/bench
mkdir -p "$BENCH_DIR"

# The OpenBLAS kernel sets to try: "env" alone (default) means as the
# environment has it; "default" means OPENBLAS_CORETYPE unset.
read -r -a CORETYPES <<< "${BENCH_CORETYPES:-env}"
# with_coretype SET CMD...: CMD run under that kernel set.
with_coretype() {
    local set=$1
    shift
    case "$set" in
        env) "$@" ;;
        default) env -u OPENBLAS_CORETYPE "$@" ;;
        *) OPENBLAS_CORETYPE=$set "$@" ;;
    esac
}
# OpenBLAS takes a name it does not know without a word and runs its own
# choice, which the tables would then label with the wrong name: ask it
# (openblas_get_corename) what each named set gives, and stop on a mismatch.
for set in "${CORETYPES[@]}"; do
    case "$set" in env | default) continue ;; esac
    got=$(OPENBLAS_CORETYPE=$set "${PYTHON:-/usr/bin/python3}" -c 'import ctypes
f = ctypes.CDLL("libopenblas.so.0").openblas_get_corename
f.restype = ctypes.c_char_p
print(f().decode())' 2>/dev/null) || continue  # no OpenBLAS here: nothing to compare with
    if [ "${got,,}" != "${set,,}" ]; then
        echo "bench: OPENBLAS_CORETYPE=$set is not a kernel set this OpenBLAS knows (it ran $got instead)" >&2
        echo "HINT: use names openblas_get_corename prints, e.g. BENCH_CORETYPES=\"default Haswell SkylakeX Zen\"" >&2
        exit 2
    fi
done
if [ "${#CORETYPES[@]}" = 0 ]; then
    echo "bench: BENCH_CORETYPES is empty" >&2
    echo "HINT: leave it unset, or list kernel sets: BENCH_CORETYPES=\"default Haswell SkylakeX\"" >&2
    exit 2
fi

if [ ! -f "$LIB" ]; then
    echo "bench: library $LIB not found" >&2
    echo "HINT: run it through make: make bench" >&2
    exit 1
fi

# build_bench NAME [LIBS...]: bench/NAME.c against the library, into
# $BENCH_DIR/NAME; on failure it says so and returns 1.
build_bench() {
    local name=$1
    shift
    # shellcheck disable=SC2086  # CFLAGS is a list of flags
    if ! $CC $CFLAGS "bench/$name.c" "$LIB" -lm "$@" -o "$BENCH_DIR/$name"; then
        echo "$name: build failed"
        return 1
    fi
}

# --- The machine: CPU, build, measured FMA peak, the PyTorch it is compared with
# Every later figure is read against these: a ratio from one machine is not
# a ratio on another (shared/benchmarks.md).
PEAK=
machine_probe() {
    [ -n "$PEAK" ] && return 0
    build_bench bench_machine || return 1
    MACHINE_OUT=$("$BENCH_DIR/bench_machine")
    PEAK=$(echo "$MACHINE_OUT" | sed -n 's/^peak_gflops //p')
    narrow_pytorch
}

# A build narrower than the CPU (ARCH=haswell on an AVX-512 machine) stands
# for an AVX2-only machine; on one, PyTorch too would run AVX2: its
# convolutions go through oneDNN, which picks its kernels from the CPU, not
# from OpenBLAS (README, "Which kernels PyTorch's convolutions get", has
# what the cap moves and the command that measures it). So for such a
# build the PyTorch side gets the same width: oneDNN
# capped at AVX2 (ONEDNN_MAX_CPU_ISA) and OpenBLAS on its Haswell kernel set
# (OPENBLAS_CORETYPE), unless the environment or BENCH_CORETYPES says otherwise.
TORCH_NOTE=
narrow_pytorch() {
    local path
    path=$(echo "$MACHINE_OUT" | sed -n 's/^vector path: \([^ ]*\).*/\1/p')
    case "$path" in AVX2*) ;; *) return 0 ;; esac
    grep -q -w avx512f /proc/cpuinfo 2>/dev/null || return 0
    if [ -z "${ONEDNN_MAX_CPU_ISA:-}${DNNL_MAX_CPU_ISA:-}" ]; then
        export ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2  # (DNNL_: oneDNN before 2.x's rename)
        TORCH_NOTE="oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)"
    fi
    if [ -z "${BENCH_CORETYPES:-}" ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
        export OPENBLAS_CORETYPE=Haswell
        TORCH_NOTE="${TORCH_NOTE:+$TORCH_NOTE, }OpenBLAS on its Haswell (AVX2) kernel set (OPENBLAS_CORETYPE=Haswell)"
    fi
    [ -n "$TORCH_NOTE" ] && TORCH_NOTE="this build's vector path is AVX2 on a CPU with AVX-512, so the PyTorch side runs as it would on an AVX2-only CPU: $TORCH_NOTE"
    return 0
}

# The instruction set oneDNN (PyTorch's convolution library) runs, as its
# verbose mode names it after one small convolution.
onednn_isa() {
    ONEDNN_VERBOSE=1 DNNL_VERBOSE=1 "$PYTHON" -c 'import torch
torch.nn.functional.conv2d(torch.ones(2, 8, 8, 8), torch.ones(8, 8, 4, 4))' 2>/dev/null |
        sed -n 's/^[a-z]*_verbose,.*info,cpu,isa:\(.*\)/\1/p' | head -n 1
}

section_machine() {
    echo "== machine"
    machine_probe || return 1
    echo "$MACHINE_OUT" | grep -v '^peak_gflops'
    echo "build: $CC $(echo "$CFLAGS" | grep -o -- '-march=[^ ]*\|-O[0-9s]' | tr '\n' ' ')($($CC --version 2>/dev/null | head -n 1))"
    local load
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)$(awk -v l="${load:-0}" -v c="$(nproc)" \
        'BEGIN { if (l + 0 > c * 0.5) print " (other programs are using the cores: wall-clock figures below are not trustworthy)" }')"
    echo "OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-not set}"
    if "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
        # PyTorch's version, its thread count as the GAN section sets it, and
        # the OpenBLAS kernel set its BLAS calls run (found among the
        # libraries the process has loaded once a matmul has run).
        "$PYTHON" - "$THREADS" <<'PY' 2>&1 | sed 's/^/pytorch: /'
import ctypes, sys, torch
torch.set_num_threads(int(sys.argv[1]))
torch.ones(64, 64) @ torch.ones(64, 64)
core = "unknown (no OpenBLAS among its libraries)"
for path in sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l and l.split()[-1].startswith("/")}):
    try:
        fn = ctypes.CDLL(path).openblas_get_corename
    except (OSError, AttributeError):
        continue
    fn.restype = ctypes.c_char_p
    core = "OpenBLAS kernel set %s (%s)" % (fn().decode(), path)
    break
print("%s, %d thread(s), CPU capability %s, %s" % (torch.__version__, torch.get_num_threads(),
      ([l.split(":")[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l] or ["?"])[0],
      core))
PY
        local isa
        isa=$(onednn_isa)
        echo "pytorch: convolutions through oneDNN: ${isa:-no (oneDNN did not report an instruction set)}${ONEDNN_MAX_CPU_ISA:+ (ONEDNN_MAX_CPU_ISA=$ONEDNN_MAX_CPU_ISA)}"
        if [ -n "$TORCH_NOTE" ]; then echo "pytorch: $TORCH_NOTE"; fi
    else
        echo "pytorch: $PYTHON cannot import torch (the GAN section will have no yardstick)"
    fi
    return 0  # (a failed test above is not a failed section)
}

# --- GEMM: k_gemm against OpenBLAS sgemm -------------------------------------
section_gemm() {
    machine_probe || return 1
    echo "== GEMM (common/gemm.c) vs OpenBLAS, C = A B, n x n x n, $THREADS thread(s)"
    build_bench bench_gemm -ldl || return 1
    local set
    for set in "${CORETYPES[@]}"; do
        [ "${#CORETYPES[@]}" -gt 1 ] && echo "-- OPENBLAS_CORETYPE $set"
        with_coretype "$set" "$BENCH_DIR/bench_gemm" --peak "$PEAK" 256 512 1024
    done
}

# --- Convolutions: each kernel of dcgan32's strided layers against a plain GEMM of its size
section_convs() {
    echo "== convolutions (bench/bench_convs.c) vs plain GEMMs of the same sizes, $THREADS thread(s)"
    build_bench bench_convs || return 1
    "$BENCH_DIR/bench_convs"
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
    # Then, as the chapters do (cli_openmp_passive, common/run/cli.h), a
    # waiting thread spins 1,000 rounds (~10 us) before it sleeps: both sides
    # run the same libgomp, so both get the same setting.
    local OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
    export OMP_WAIT_POLICY GOMP_SPINCOUNT
    machine_probe || return 1
    local workloads=(mlp_b64 dcgan32_mnist_b128 wgangp32_mnist_b64)
    [ "${BENCH_ALL:-0}" = 1 ] && workloads+=(dcgan64_rgb_b128)
    echo "== GAN training iterations (bench/bench_gan.c) vs PyTorch, cpu, $THREADS thread(s), OMP_WAIT_POLICY=$OMP_WAIT_POLICY, GOMP_SPINCOUNT=$GOMP_SPINCOUNT, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    build_bench bench_gan || return 1
    # The GEMM's own n = 1024 rate, taken again just before and just after
    # each of our rounds: a step's convolutions are compared with the faster
    # of the two (target 80%), since this machine's speed moves from one
    # minute to the next and a slow moment of the GEMM would flatter them.
    build_bench bench_gemm -ldl || return 1
    gemm1024() { "$BENCH_DIR/bench_gemm" 1024 | awk '$1 == 1024 { print $2 }'; }
    local torch=1
    if [ ! -f "$TORCH_BENCH" ]; then
        echo "PyTorch side skipped: $TORCH_BENCH not found (set TORCH_BENCH=path/to/torch_gan_bench.py)"
        torch=0
    elif ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
        echo "PyTorch side skipped: $PYTHON cannot import torch. HINT: apt-get install python3-torch"
        torch=0
    fi
    local layers=""
    [ "${BENCH_LAYERS:-0}" = 1 ] && layers=--layers
    local rows=() w r out line ms ours peak theirs gflops busy conv cg g_before g_after g1024 conv_rate best_set status=0
    for w in "${workloads[@]}"; do
        ours="" peak="" theirs="" gflops="" busy="" conv="" conv_rate="" best_set=-
        for ((r = 0; r < rounds; r++)); do
            g_before=$(gemm1024)
            # shellcheck disable=SC2046  # gan_iters prints several flags
            out=$("$exe" --only "$w" --threads "$THREADS" $(gan_iters "$w") $layers)
            line=$(echo "$out" | grep "^bench $w ")
            if [ -z "$line" ]; then
                echo "bench_gan: no result for $w"
                status=1
                continue
            fi
            echo "$line"
            [ -n "$layers" ] && echo "$out" | grep '^  '
            ms=$(echo "$line" | awk '{print $4}')
            cg=$(echo "$line" | sed -n 's/.*conv [0-9.]* ms\/iter \([0-9.]*\) GFLOP\/s.*/\1/p')
            g1024=""
            if awk -v c="$cg" 'BEGIN { exit !(c + 0 > 0) }'; then
                g_after=$(gemm1024)
                echo "gemm n=1024 just before / after: ${g_before:-?} / ${g_after:-?} GFLOP/s"
                g1024=$(awk -v a="$g_before" -v b="$g_after" 'BEGIN { if (a + 0 > b + 0) print a; else if (b + 0 > 0) print b }')
            fi
            if [ "$(min_of "$ours" "$ms")" = "$ms" ]; then  # the best round's other figures too
                gflops=$(echo "$line" | sed -n 's/.*GMAC\/iter, \([0-9.]*\) GFLOP\/s.*/\1/p')
                conv=$(echo "$line" | sed -n 's/.*conv \([0-9.]*\) ms\/iter.*/\1/p' | awk -v w="$ms" '{printf "%.0f%%", 100 * $1 / w}')
                busy=$(echo "$line" | sed -n 's/.*cpu time \([0-9.]*\) ms.*/\1/p' | awk -v w="$ms" '{printf "%.2f", $1 / w}')
                conv_rate=$(awk -v c="$cg" -v g="$g1024" 'BEGIN { if (c + 0 > 0 && g + 0 > 0) printf "%.1f/%.0f%%", c, 100 * c / g; else print "-" }')
            fi
            ours=$(min_of "$ours" "$ms")
            peak=$(echo "$line" | sed -n 's/.*(peak \([0-9.]*\) MiB.*/\1/p')
            local set t
            for set in "${CORETYPES[@]}"; do
                [ $torch = 1 ] || break
                # Its line for this workload: "<name>_fp32 {'ms_per_iter': 45.1, ...}"
                line=$(with_coretype "$set" "$PYTHON" "$TORCH_BENCH" --device cpu --threads "$THREADS" --quick \
                    --only "$w" 2>&1 | grep "^${w}_fp32 ")
                if [ -n "$line" ]; then
                    echo "torch $line$([ "${#CORETYPES[@]}" -gt 1 ] && echo " OPENBLAS_CORETYPE $set")"
                    t=$(echo "$line" | sed -n "s/.*'ms_per_iter': \([0-9.]*\).*/\1/p")
                    [ "$(min_of "$theirs" "$t")" = "$t" ] && best_set=$set
                    theirs=$(min_of "$theirs" "$t")
                else
                    echo "torch_gan_bench.py: no result for $w"
                fi
            done
        done
        [ -n "$ours" ] && rows+=("$w $ours ${theirs:--} ${peak:--} ${gflops:--} ${busy:--} ${conv:--} ${conv_rate:--} $best_set")
    done
    echo
    # With several kernel sets, a last column names the one PyTorch was fastest with.
    local sets=0
    [ "${#CORETYPES[@]}" -gt 1 ] && sets=1
    printf '%-20s %11s %14s %7s %9s %12s %6s %10s %9s %15s' workload "ours ms/it" "PyTorch ms/it" ratio "peak MiB" \
        "GEMM GFLOP/s" "%peak" "cores busy" "in convs" "convs, of n1024"
    [ $sets = 1 ] && printf '  %s' "PyTorch's kernel set"
    echo
    local row
    for row in "${rows[@]}"; do
        echo "$row" | awk -v peak="$PEAK" -v sets=$sets '{ ratio = ($3 == "-") ? "-" : sprintf("%.2f", $3 / $2)
            pct = ($5 == "-" || peak + 0 <= 0) ? "-" : sprintf("%.0f%%", 100 * $5 / peak)
            printf "%-20s %11.2f %14s %7s %9s %12s %6s %10s %9s %15s", $1, $2, $3, ratio, $4, $5, pct, $6, $7, $8
            if (sets) printf "  %s", $9
            printf "\n" }'
    done
    [ "$rounds" -gt 1 ] && echo "(best of $rounds rounds each, taken in turns)"
    [ $sets = 1 ] && echo "(PyTorch: the fastest of OPENBLAS_CORETYPE ${CORETYPES[*]} in each round; default = unset)"
    if [ $sets = 0 ] && [ -n "${OPENBLAS_CORETYPE:-}" ]; then
        echo "(PyTorch ran with the kernel set OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE forces; BENCH_CORETYPES=\"default"
        echo " $OPENBLAS_CORETYPE SkylakeX\" tries several and keeps PyTorch's fastest)"
    fi
    [ -n "$TORCH_NOTE" ] && echo "(PyTorch: $TORCH_NOTE)"
    echo "ratio = PyTorch / ours (above 1: ours is faster); target (shared/benchmarks.md): >= 2 for mlp_b64,"
    echo "dcgan32_mnist_b128 and wgangp32_mnist_b64. GEMM GFLOP/s: the step's matrix-product and convolution"
    echo "multiply-adds x 2 / its wall time (compare with the GEMM's own n = 1024 rate above); %peak: of the"
    echo "measured FMA peak $PEAK GFLOP/s; cores busy: process CPU time / wall time (at most the thread count);"
    echo "in convs: share of the step's wall time inside the conv kernels; convs, of n1024: their GFLOP/s"
    echo "in the step / the GEMM's own n = 1024 rate, the faster of just before and just after that round"
    echo "(target: 80%). A convolution counts the direct sum's multiply-adds, whichever kernel ran it: the"
    echo "default Winograd kernels (common/conv_winograd.c) do 9/16 of them in the k4 s2 p1 layers, so these"
    echo "rates can pass the peak and the GEMM's own."
    [ "${BENCH_ALL:-0}" = 1 ] || echo "BENCH_ALL=1 adds dcgan64_rgb_b128."
    return $status
}

SECTIONS=(section_machine section_gemm section_convs section_gan)
# BENCH_ONLY=gan (or gemm, convs, machine) runs one section.
[ -n "${BENCH_ONLY:-}" ] && SECTIONS=("section_$BENCH_ONLY")

status=0
for section in "${SECTIONS[@]}"; do
    "$section" || status=1
    echo
done
exit $status
