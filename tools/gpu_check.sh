#!/usr/bin/env bash
# gpu_check.sh OUTDIR: everything about the CUDA side of ganbook that needs a
# real GPU, in one run (issue 10, section 4). Prepared so that it works the
# first time on a machine we have never seen: every step is optional, says
# "not available (why)" when its tool or GPU is missing, and never aborts the
# others. Budget: under 8 minutes on an H100/H200.
#
#   1. build: make CUDA=1 for the GPU it finds (nvidia-smi's compute
#      capability; sm_80 + sm_90 when none), plus the emulated build
#   2. the emulator tests (tests/test_cuda_*.sh), here as in CI
#   3. every kernel-lab program's validation (--quick) on the real device, and
#      tests/cuda/emu_features.cu (the emulator must agree with the GPU)
#   4. compute-sanitizer memcheck and racecheck on those small shapes, and on
#      the planted bugs of tests/cuda/planted_bugs.cu (which must be caught)
#   5. every kernel-lab program's timing table (cuBLAS / cuDNN yardsticks)
#   6. the four workloads of benchmarks.md: ours (bench/bench_gan.c --device
#      cuda) against PyTorch in the same run, fp32 with TF32 off and on
#   7. a short --device cuda run of every chapter (1-7; chapter 7 with its
#      full recipe), 20 steps each
# Output: OUTDIR/gpu_check.log (everything), OUTDIR/logs/*.txt (each step),
# OUTDIR/summary.md (ONE table: step, result, figures), printed at the end.
# Exit status: 0 when no step FAILED ("not available" is not a failure), 1
# otherwise, 2 on bad usage.
#
# Environment: GPU_CHECK_EMULATE=1 (no GPU: exercise the GPU steps with the
# emulated programs, to test this script), PYTHON (default: python3 or
# /usr/bin/python3, whichever has PyTorch), TORCH_BENCH (default
# ../shared/bench/torch_gan_bench.py, else tools/torch_gan_bench.py),
# JOBS (make -j, default nproc), BUDGET_S (default 400: no heavy step starts
# after it, and none runs over 4 minutes, so the whole stays under 8).
set -u
cd "$(dirname "$0")/.." || exit 2

if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: tools/gpu_check.sh OUTDIR" >&2
    echo "HINT: OUTDIR receives gpu_check.log, logs/ and summary.md, e.g. tools/gpu_check.sh runs/gpu_check" >&2
    exit 2
fi
OUT=$1
if [ -e "$OUT/summary.md" ]; then
    echo "error: $OUT already holds a gpu_check run (summary.md)" >&2
    echo "HINT: pick a new OUTDIR, or remove the old one first" >&2
    exit 2
fi
mkdir -p "$OUT/logs" || exit 2
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/gpu_check.log
SUMMARY=$OUT/summary.md
: >"$LOG"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
BUDGET_S=${BUDGET_S:-400}
# The first interpreter that has PyTorch (pyenv's python3 may lack it where /usr/bin/python3 has it).
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    for p in python3 /usr/bin/python3; do
        if "$p" -c 'import torch' >/dev/null 2>&1; then PYTHON=$p; break; fi
    done
fi
BUILD=build/gpu-check
rows=()
failed=0

say() { echo "$*" | tee -a "$LOG"; }
row() {  # STEP RESULT FIGURES
    rows+=("| $1 | $2 | $3 |")
    say "-> $1: $2${3:+ ($3)}"
    case "$2" in FAIL*) failed=1 ;; esac
}
# run_step NAME TIMEOUT_S CMD...: output to logs/NAME.txt and the log; returns the status
run_step() {
    local name=$1 limit=$2
    shift 2
    say "== $name: $*"
    timeout "$limit" "$@" >"$OUT/logs/$name.txt" 2>&1
    local rc=$?
    cat "$OUT/logs/$name.txt" >>"$LOG"
    [ $rc -eq 124 ] && say "(timed out after ${limit}s)"
    return $rc
}
over_budget() { [ "$SECONDS" -gt "$BUDGET_S" ]; }

# --- 0. what is here ---------------------------------------------------------------
say "gpu_check: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
NVCC=$(command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
CUDA_BIN=${NVCC:+$(dirname "$NVCC")}
SANITIZER=$(command -v compute-sanitizer 2>/dev/null || ls "${CUDA_BIN:-/usr/local/cuda/bin}/compute-sanitizer" 2>/dev/null || true)
gpu_name=""
cap=""
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
    cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
    nvidia-smi >>"$LOG" 2>&1
fi
# GPU_CHECK_EMULATE=1 tests this script on a machine without a GPU: the
# emulated lab programs stand in for the device ones, so every GPU step's
# code path runs (its figures then time the emulator, not a GPU).
labdir=$BUILD/nvcc/lab
if [ "${GPU_CHECK_EMULATE:-0}" = 1 ] && [ -z "$gpu_name" ]; then
    gpu_name="none: GPU_CHECK_EMULATE=1, the emulator stands in"
    labdir=$BUILD/emu/lab
fi
if [ -n "$gpu_name" ]; then
    row "GPU" "found" "$gpu_name, compute capability ${cap:-?}"
else
    row "GPU" "not available" "nvidia-smi finds no GPU: the GPU steps below are skipped, the emulator steps run"
fi
arch=""
arch_flags=()
if [ -n "$NVCC" ]; then
    say "nvcc: $NVCC ($("$NVCC" --version | tail -n 1))"
    if [ -n "$cap" ] && "$NVCC" --list-gpu-arch 2>/dev/null | grep -qx "compute_$cap"; then
        arch="-gencode arch=compute_$cap,code=sm_$cap"
        arch_flags=(-gencode "arch=compute_$cap,code=sm_$cap")
    elif [ -n "$cap" ]; then
        say "nvcc does not list compute_$cap: building the default sm_80 + sm_90"
    fi
fi

# --- 1. build ---------------------------------------------------------------------
cuda=0
if [ -n "$NVCC" ]; then
    if [ -n "$arch" ]; then
        run_step build 300 make -j"$JOBS" CUDA=1 NVCC="$NVCC" BUILD=$BUILD NVCC_ARCH="$arch" all cuda-nvcc
    else
        run_step build 300 make -j"$JOBS" CUDA=1 NVCC="$NVCC" BUILD=$BUILD all cuda-nvcc
    fi
    rc=$?
    if [ $rc -eq 0 ]; then
        cuda=1
        spills=$(grep -l ' [1-9][0-9]* bytes spill' $BUILD/nvcc/*.ptxas.txt 2>/dev/null | wc -l)
        row "build (nvcc ${arch:-sm_80+sm_90}, warnings as errors)" "ok" \
            "$(find $BUILD/nvcc -maxdepth 1 -name '*.o' | wc -l) .cu files; $spills with register spills (ptxas -v in $BUILD/nvcc/*.ptxas.txt)"
        cp $BUILD/nvcc/*.ptxas.txt "$OUT/logs/" 2>/dev/null
    else
        row "build (nvcc)" "FAIL" "exit $rc, see logs/build.txt"
    fi
else
    run_step build 300 make -j"$JOBS" CUDA=0 BUILD=$BUILD all
    rc=$?
    if [ $rc -eq 0 ]; then row "build (nvcc)" "not available" "no nvcc: built CPU only + the emulator"
    else row "build (CPU only)" "FAIL" "exit $rc, see logs/build.txt"; fi
fi
have_gpu=0
[ -n "$gpu_name" ] && [ $cuda -eq 1 ] && have_gpu=1
labs=$(grep -l '^#ifdef LAB_MAIN' cuda/*.cu 2>/dev/null | xargs -r -n 1 basename | sed 's/\.cu$//')

# --- 2. emulator tests --------------------------------------------------------------
# Built apart from the GPU build, so that a missing piece here (say, no
# AddressSanitizer runtime for the ASan test program) fails only this step.
# (The emulated chapters too: tests/test_cuda_chapters.sh runs them.)
emu_chapters=()
for n in 1 2 3 4 5 6 7; do emu_chapters+=("$BUILD/emu/chapter$n"); done
if ! run_step build_emu 240 make -j"$JOBS" CUDA="$cuda" ${NVCC:+NVCC="$NVCC"} BUILD=$BUILD cuda-emu-tests \
    "${emu_chapters[@]}"; then
    row "build of the emulator tests" "FAIL" "see logs/build_emu.txt (the tests below may then fail too)"
fi
for t in tests/test_cuda*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    run_step "$name" 300 env BUILD=$BUILD GPU_CHECK=1 bash "$t"
    rc=$?
    last=$(tail -n 1 "$OUT/logs/$name.txt")
    if [ $rc -eq 0 ]; then row "$name (emulator)" "ok" "$last"; else row "$name (emulator)" "FAIL" "exit $rc: $last"; fi
done

# --- 3. lab validation on the device -------------------------------------------------
for lab in $labs; do
    if [ $have_gpu -eq 0 ]; then
        row "lab $lab --quick on the GPU" "not available" "no GPU"
        continue
    fi
    run_step "device_$lab" 120 "$labdir/$lab" --quick
    rc=$?
    last=$(tail -n 1 "$OUT/logs/device_$lab.txt")
    if [ $rc -eq 0 ]; then row "lab $lab --quick on the GPU" "ok" "$last"; else row "lab $lab --quick on the GPU" "FAIL" "exit $rc: $last"; fi
done

# The emulator's feature test on the real device: the emulator must give CUDA's answers.
if [ $have_gpu -eq 1 ] && [ "$labdir" = "$BUILD/nvcc/lab" ]; then
    if "$NVCC" -O1 -std=c++17 "${arch_flags[@]}" -Icuda tests/cuda/emu_features.cu -o "$BUILD/nvcc/emu_features" >>"$LOG" 2>&1; then
        run_step device_emu_features 60 "$BUILD/nvcc/emu_features"
        rc=$?
        if [ $rc -eq 0 ]; then row "tests/cuda/emu_features.cu on the GPU (the emulator's answers are CUDA's)" "ok" "$(tail -n 1 "$OUT/logs/device_emu_features.txt")"
        else row "tests/cuda/emu_features.cu on the GPU" "FAIL" "exit $rc: $(grep -m 3 FAIL "$OUT/logs/device_emu_features.txt" | tr '\n' ' ')"; fi
    else
        row "tests/cuda/emu_features.cu on the GPU" "FAIL" "nvcc could not build it"
    fi
fi

# --- 4. compute-sanitizer ---------------------------------------------------------------
if [ $have_gpu -eq 0 ] || [ -z "$SANITIZER" ]; then
    row "compute-sanitizer memcheck/racecheck" "not available" \
        "$([ $have_gpu -eq 0 ] && echo 'no GPU' || echo 'compute-sanitizer not found')"
else
    for lab in $labs; do
        for tool in memcheck racecheck; do
            over_budget && { row "sanitizer $tool $lab" "skipped" "time budget"; continue; }
            run_step "sanitizer_${tool}_$lab" 150 "$SANITIZER" --tool "$tool" --error-exitcode 9 "$labdir/$lab" --quick
            rc=$?
            verdict=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/logs/sanitizer_${tool}_$lab.txt" | tail -n 1)
            if [ $rc -eq 0 ]; then row "sanitizer $tool $lab --quick" "ok" "${verdict:-clean}"
            else row "sanitizer $tool $lab --quick" "FAIL" "exit $rc: ${verdict:-see logs}"; fi
        done
    done
    # The tools themselves: the planted bugs must be reported.
    pb=$BUILD/nvcc/planted_bugs
    if "$NVCC" -O1 -std=c++17 "${arch_flags[@]}" -Icuda tests/cuda/planted_bugs.cu -o "$pb" >>"$LOG" 2>&1; then
        run_step sanitizer_planted_nobounds 60 "$SANITIZER" --tool memcheck --error-exitcode 9 "$pb" nobounds
        rc=$?
        if [ $rc -ne 0 ] && grep -q 'Invalid __global__ write' "$OUT/logs/sanitizer_planted_nobounds.txt"; then
            row "memcheck catches the planted missing bounds check" "ok" "Invalid __global__ write reported"
        else row "memcheck catches the planted missing bounds check" "FAIL" "exit $rc, no invalid write reported"; fi
        run_step sanitizer_planted_nosync 60 "$SANITIZER" --tool racecheck --error-exitcode 9 "$pb" nosync
        rc=$?
        if [ $rc -ne 0 ] && grep -qi 'hazard' "$OUT/logs/sanitizer_planted_nosync.txt"; then
            row "racecheck catches the planted missing __syncthreads" "ok" "$(grep -i 'RACECHECK SUMMARY' "$OUT/logs/sanitizer_planted_nosync.txt" | head -n 1)"
        else row "racecheck catches the planted missing __syncthreads" "FAIL" "exit $rc, no hazard reported"; fi
    else
        row "sanitizer planted bugs" "FAIL" "nvcc could not build tests/cuda/planted_bugs.cu"
    fi
fi

# --- 5. lab timing tables -----------------------------------------------------------
for lab in $labs; do
    if [ $have_gpu -eq 0 ]; then
        row "lab $lab timing" "not available" "no GPU (the emulator's runs prove correctness only)"
        continue
    fi
    over_budget && { row "lab $lab timing" "skipped" "time budget"; continue; }
    run_step "lab_$lab" 180 "$labdir/$lab"
    rc=$?
    cp "$OUT/logs/lab_$lab.txt" "$OUT/lab_$lab.txt"
    if [ $rc -ne 0 ]; then
        row "lab $lab timing" "FAIL" "exit $rc, see lab_$lab.txt"
        continue
    fi
    case $lab in
    matmul)  # the last size: versions 1-3, cuBLAS fp32, TF32
        fig=$(awk '$1 ~ /^[0-9]+$/ && NF == 6 { n=$1; a=$2; b=$3; c=$4; d=$5; e=$6 }
            END { if (n) printf "n=%s: naive %s, tiled %s, regblock %s GFLOP/s; cuBLAS fp32 %s, TF32 %s (regblock %.0f%% of cuBLAS fp32)", n, a, b, c, d, e, (d + 0 > 0 ? 100 * c / d : 0) }' "$OUT/lab_$lab.txt")
        ;;
    conv2d)  # per layer and direction: the best of ours against cuDNN fp32; the big layers D2-D4
        fig=$(awk '$1 ~ /^D[2-4]$/ { best = $(NF-4); if ($(NF-3) > best) best = $(NF-3); if ($(NF-2) > best) best = $(NF-2);
                if ($(NF-1) + 0 > 0) { r = best / $(NF-1); if (min == "" || r < min) { min = r; at = $1 " " $(NF-5) } } }
            END { if (min != "") printf "best kernel / cuDNN fp32 on D2-D4: worst %.2f (%s); target >= 0.5", min, at }' "$OUT/lab_$lab.txt")
        ;;
    *) fig="see lab_$lab.txt" ;;
    esac
    row "lab $lab timing" "ok" "${fig:-see lab_$lab.txt}"
done

# --- 6. the four workloads against PyTorch ---------------------------------------------
workloads="mlp_b64 dcgan32_mnist_b128 dcgan64_rgb_b128 wgangp32_mnist_b64"
torch_bench=${TORCH_BENCH:-}
[ -z "$torch_bench" ] && [ -f ../shared/bench/torch_gan_bench.py ] && torch_bench=../shared/bench/torch_gan_bench.py
[ -z "$torch_bench" ] && torch_bench=tools/torch_gan_bench.py
torch_ok=0
torch_args=(--device cuda)
torch_test='import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'
if [ "${GPU_CHECK_EMULATE:-0}" = 1 ]; then  # test the parsing with PyTorch on the CPU, one small workload
    torch_args=(--device cpu --quick --only mlp_b64)
    workloads=mlp_b64
    torch_test='import torch'
fi
if [ $have_gpu -eq 1 ] && "$PYTHON" -c "$torch_test" >>"$LOG" 2>&1; then
    torch_ok=1
    if over_budget; then torch_ok=0; row "PyTorch workloads" "skipped" "time budget"
    else
        if ! run_step torch_bench 240 "$PYTHON" "$torch_bench" "${torch_args[@]}"; then
            torch_ok=0
            row "PyTorch workloads" "FAIL" "torch_gan_bench.py failed, see logs/torch_bench.txt"
        fi
    fi
else
    row "PyTorch workloads" "not available" "$([ $have_gpu -eq 0 ] && echo 'no GPU' || echo "no PyTorch with CUDA for $PYTHON")"
fi
torch_ms() {  # WORKLOAD fp32|tf32 -> ms per iteration from torch_gan_bench's lines
    sed -n "s/^$1_$2 {'ms_per_iter': \([0-9.]*\).*/\1/p" "$OUT/logs/torch_bench.txt" 2>/dev/null | head -n 1
}
ours_ok=0
if [ $have_gpu -eq 1 ]; then
    link=$(make -s CUDA=1 NVCC="$NVCC" BUILD=$BUILD print-cuda-link 2>/dev/null)
    cc_flags=$(make -s CUDA=1 NVCC="$NVCC" BUILD=$BUILD print-cflags 2>/dev/null)  # "gcc -std=c11 ..."
    # shellcheck disable=SC2086  # the flags and libraries are lists
    if $cc_flags bench/bench_gan.c $BUILD/libganbook.a $link -lm -o $BUILD/bench_gan_cuda >>"$LOG" 2>&1 &&
        $BUILD/bench_gan_cuda --device cuda --only mlp_b64 --iters 1 --warmup 0 >"$OUT/logs/bench_probe.txt" 2>&1; then
        ours_ok=1
    else
        row "our workloads on the GPU" "not available" "bench_gan has no working --device cuda yet (the CUDA backend, branch seam): see logs/bench_probe.txt"
    fi
fi
if [ $torch_ok -eq 1 ] || [ $ours_ok -eq 1 ]; then
    for w in $workloads; do
        over_budget && { row "workload $w" "skipped" "time budget"; continue; }
        ours=""
        if [ $ours_ok -eq 1 ]; then
            run_step "ours_$w" 120 $BUILD/bench_gan_cuda --device cuda --only "$w" --iters 50 --warmup 10
            ours=$(awk -v w="$w" '$1 == "bench" && $2 == w { print $4; exit }' "$OUT/logs/ours_$w.txt")
        fi
        t32=$(torch_ms "$w" fp32)
        ttf=$(torch_ms "$w" tf32)
        fig=$(awk -v o="$ours" -v a="$t32" -v b="$ttf" 'BEGIN {
            s = "ours " (o == "" ? "n/a" : o " ms") ", PyTorch fp32 " (a == "" ? "n/a" : a " ms") ", TF32 " (b == "" ? "n/a" : b " ms");
            if (o > 0 && a > 0) s = s sprintf("; speed-up %.2fx (fp32), %.2fx (TF32)", a / o, (b > 0 ? b / o : 0));
            print s }')
        if [ -n "$ours" ] || [ -n "$t32" ]; then row "workload $w" "ok" "$fig"
        else row "workload $w" "FAIL" "no figure from either side"; fi
    done
fi

# --- 7. chapters on the GPU ------------------------------------------------------------
# Every chapter, 20 steps on --device cuda with its own short settings
# (chapter 4 without the 100-critic-step warm-up, chapter 7's full recipe:
# spectral norm, hinge, R1, EMA, DiffAugment), the final scores on 1,000
# samples (200 under the emulator). With GPU_CHECK_EMULATE=1 and no GPU, the emulated chapters
# ($BUILD/emu/chapterN) take 2 tiny steps instead, so this code path runs
# here too (chapters 3, 6, 7 take minutes each under the emulator: the
# budget may skip them).
emulated_chapters=0
if [ $have_gpu -eq 1 ] && [ "$labdir" = "$BUILD/emu/lab" ]; then
    emulated_chapters=1
    run_step build_emu_chapters 300 make -j"$JOBS" CUDA="$cuda" ${NVCC:+NVCC="$NVCC"} BUILD=$BUILD \
        "${emu_chapters[@]}" || row "build of the emulated chapters" "FAIL" "see logs/build_emu_chapters.txt"
fi
chapter_args() {  # NAME: the chapter's own flags for the short run
    case $1 in
    chapter4) echo "--warmup off" ;;
    chapter7) echo "--recipe full" ;;
    esac
    if [ $emulated_chapters -eq 1 ]; then
        case $1 in
        chapter3 | chapter6 | chapter7) echo "--width 4 --batch 4" ;;
        chapter4) echo "--batch 16 --n-critic 1" ;;
        chapter5) echo "--batch 16 --hidden 32 --n-critic 1" ;;
        *) echo "--batch 16" ;;
        esac
    fi
}
for prog in ./chapter[0-9] ./chapter[0-9][0-9]; do
    [ -x "$prog" ] || continue
    name=$(basename "$prog")
    if [ $have_gpu -eq 0 ]; then
        row "$name --device cuda" "not available" "no GPU"
        continue
    fi
    over_budget && { row "$name --device cuda" "skipped" "time budget"; continue; }
    steps=20 limit=60 bin=$prog samples=1000
    [ $emulated_chapters -eq 1 ] && steps=2 limit=240 bin=$BUILD/emu/$name samples=200
    # shellcheck disable=SC2046  # chapter_args is a list of words
    run_step "$name" $limit env GANBOOK_EVAL_SAMPLES=$samples "$bin" --device cuda --steps $steps --log-every 5 \
        --sample-every 0 --checkpoint-every 0 $(chapter_args "$name") --out "$OUT/runs/$name" --force
    rc=$?
    log=$OUT/logs/$name.txt
    if [ $rc -eq 0 ] && grep -q '^device: cuda' "$log"; then
        row "$name --device cuda" "ok" "$steps steps $(chapter_args "$name" | tr '\n' ' ' | sed 's/ *$//'); $(grep -o '[0-9.]* it/s' "$log" | tail -n 1)"
    elif [ $rc -eq 124 ] && [ $emulated_chapters -eq 1 ]; then  # e.g. chapter 6's 10,000 scored samples
        row "$name --device cuda" "not available" "timed out after ${limit}s under the emulator (it runs a GPU's threads one by one)"
    elif [ $rc -eq 0 ]; then
        row "$name --device cuda" "FAIL" "exit 0 but its banner does not say 'device: cuda'"
    elif grep -qE 'this build has no CUDA' "$log"; then  # a CPU-only build
        row "$name --device cuda" "not available" "$(grep -m 1 -i 'error' "$log" | cut -c 1-150)"
    elif grep -qiE 'make data|dataset' "$log"; then
        row "$name --device cuda" "not available" "no dataset here: $(grep -m 1 -i 'error' "$log" | cut -c 1-120)"
    else
        row "$name --device cuda" "FAIL" "exit $rc: $(grep -m 1 -i 'error' "$log" | cut -c 1-150)"
    fi
done

# --- the summary ----------------------------------------------------------------------------
{
    echo "# gpu_check $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "GPU: ${gpu_name:-none}; nvcc: ${NVCC:-none}; $(nproc) cores; ${SECONDS}s"
    echo
    echo "| step | result | figures |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$SUMMARY"
echo | tee -a "$LOG"
tee -a "$LOG" <"$SUMMARY"
echo
if [ $failed -eq 0 ]; then
    say "gpu_check: no step failed (${SECONDS}s); log: $LOG"
else
    say "gpu_check: some steps FAILED (${SECONDS}s); see $LOG"
fi
exit $failed
