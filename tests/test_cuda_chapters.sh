#!/usr/bin/env bash
# test_cuda_chapters.sh: chapters on the emulated GPU (make test builds
# $BUILD/emu/chapter1 and chapter3: the chapters linked with the CUDA backend
# compiled under the emulator, cuda/emu/), no GPU needed:
#   - chapter 1, 3 steps with --device cuda against the same 3 steps with
#     --device cpu: every loss.dat value within a relative 1e-4, the final
#     samples too;
#   - checkpoints are device-independent: the GPU run's checkpoint resumes on
#     the CPU and the CPU run's on the GPU, and both continue like the
#     uninterrupted run;
#   - --device cuda without a driver (CUDA_EMU_NO_DEVICE=1: cudaGetDeviceCount
#     fails with error 35): one error line, a HINT, exit 2; --device auto
#     falls back to the CPU.
#   - chapters 4-7 (issue 10, their own ops: weight clipping, the WGAN-GP
#     double backward, checked labels, spectral norm, hinge, R1, EMA and
#     DiffAugment), a few steps with --device cuda against --device cpu:
#     every number of loss.dat (and of the chapter's own logs: weights.dat,
#     critic heat map, gradnorm_hist.dat, dout.dat, sigma.dat) within a
#     relative 1e-4 (TOL below says why), chapter 4's checkpoints across
#     devices both ways.
# Chapters 3, 6 and 7 (DCGAN steps: convolutions, and chapter 7's probes of
# D on 768 images per logged step) take minutes under the emulator; they run
# when GANBOOK_CUDA_CH3=1 (make cuda-chapters-emu sets it). Chapters 4 and 5
# (toys, MLPs) run in every make test: they add about 45 s of CPU time (63 s
# of wall time on the shared 2-core machine at load 4-5; chapter 1's part
# takes 38 s of CPU), and chapters 6 and 7 about 2 and 4 minutes of wall
# time there (at load 8).
# CHECK_VERBOSE=1 lists every check.
#
# TOL: the emulated GPU adds in another order than the CPU (tiled GEMM,
# tree reductions against the CPU's blocked loops), so each op's float32
# result may differ by a few units in the last place (~1e-7 relative); a few
# steps of training, each through dozens of ops and an optimizer, carry that
# to ~1e-6 at most here (the measured gap: 1.3e-6 on chapter 5's w_estimate).
# 1e-4 leaves a 100x margin for that and still fails any real kernel bug,
# which moves the losses in the 3rd digit or sooner (a translation shifted
# the wrong way, an EMA with the weights swapped, a label row off by one).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build/solutions}
emu=$BUILD/emu
tmp=tests/tmp/cuda_chapters
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
ok() { pass=$((pass + 1)); [ "${CHECK_VERBOSE:-0}" = 1 ] && echo "  ok  : $1"; return 0; }
bad() { fail=$((fail + 1)); echo "  FAIL: $1"; }
t() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
show() { sed 's/^/        /' "$1" | tail -n 15; }
run() { local log=$1; shift; "$@" >"$log" 2>&1; }
# cross_resume NAME BIN "ARGS" REF TOL: step 2's checkpoint of a run on each
# device resumes on the other one, and step 3 matches REF (the loss.dat of
# the uninterrupted 3-step run). The flags added after ARGS win over the
# same flags in ARGS.
cross_resume() {
    local name=$1 bin=$2 args=$3 ref=$4 tol=$5 from to status
    for from in cuda cpu; do
        to=cpu; [ $from = cpu ] && to=cuda
        # shellcheck disable=SC2086
        run $tmp/$name-$from.log $bin $args --steps 2 --checkpoint-every 2 --device $from --out $tmp/$name-$from
        run $tmp/$name-$from-$to.log $bin --resume $tmp/$name-$from/checkpoint.bin --steps 3 --device $to
        status=$?
        t "$name: a checkpoint written on $from resumes on $to" "[ $status -eq 0 ]" || show $tmp/$name-$from-$to.log
        t "$name: ... and step 3 matches the uninterrupted run (relative $tol)" \
            "close $tmp/$name-$from/loss.dat $ref $tol"
    done
}

# close A B RTOL: same rows and columns, every number within RTOL (relative,
# with an absolute floor of RTOL) of the other file's; lines starting with # equal.
close() {
    [ -s "$1" ] && [ -s "$2" ] || return 1
    [ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] || return 1
    paste -d '\n' "$1" "$2" | awk -v tol="$3" '
        NR % 2 == 1 { n = split($0, a, " "); line = $0; next }
        { m = split($0, b, " "); if (m != n) bad = 1
          if (line ~ /^#/) { if (line != $0) bad = 1; next }
          for (i = 1; i <= n; i++) { d = a[i] - b[i]; if (d < 0) d = -d
              s = a[i] < 0 ? -a[i] : a[i]; if (d > tol * (s > 1 ? s : 1)) bad = 1 } }
        END { exit bad }'
}

if ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    echo "test_cuda_chapters: skipped: no C++ compiler to build the emulator"
    exit 0
fi
export GANBOOK_EVAL_SAMPLES=200  # final samples: 200, not 2,500 / 10,000 (the emulator runs a fiber per thread)

# --- chapter 1 ---------------------------------------------------------------------
c1=$emu/chapter1
if [ ! -x "$c1" ]; then
    bad "$c1 is missing (make test builds it)"
else
    args="--dataset ring8 --steps 3 --log-every 1 --sample-every 0 --checkpoint-every 2"
    run $tmp/c1gpu.log $c1 $args --device cuda --out $tmp/c1gpu
    status=$?
    t "chapter1 --device cuda (emulated GPU): 3 steps exit 0" "[ $status -eq 0 ]" || show $tmp/c1gpu.log
    t "chapter1 --device cuda: the banner says so" "grep -q '^device: cuda' $tmp/c1gpu.log"
    run $tmp/c1cpu.log $c1 $args --device cpu --out $tmp/c1cpu
    t "chapter1: loss.dat on the GPU = on the CPU (relative 1e-4)" "close $tmp/c1gpu/loss.dat $tmp/c1cpu/loss.dat 1e-4" ||
        paste $tmp/c1gpu/loss.dat $tmp/c1cpu/loss.dat | sed 's/^/        /'
    t "chapter1: final samples on the GPU = on the CPU (relative 1e-4)" \
        "close $tmp/c1gpu/samples.txt $tmp/c1cpu/samples.txt 1e-4"

    # Device-independent checkpoints: step 2 of each run resumes on the other device.
    cross_resume chapter1 $c1 "$args" $tmp/c1cpu/loss.dat 1e-4

    # No driver: the runtime's error decides, not the count.
    CUDA_EMU_NO_DEVICE=1 $c1 --device cuda --steps 1 --out $tmp/nodev >$tmp/nodev.log 2>&1
    status=$?
    t "--device cuda without a driver: exit 2, one error line + HINT (no usable CUDA GPU)" \
        "[ $status -eq 2 ] && [ \$(wc -l <$tmp/nodev.log) -eq 2 ] && grep -q '^error: --device cuda: no usable CUDA GPU' $tmp/nodev.log && grep -q '^HINT: ' $tmp/nodev.log" ||
        show $tmp/nodev.log
    CUDA_EMU_NO_DEVICE=1 run $tmp/auto.log $c1 $args --steps 1 --device auto --out $tmp/auto
    status=$?
    t "--device auto without a driver trains on the CPU" "[ $status -eq 0 ] && ! grep -q '^device: cuda' $tmp/auto.log" ||
        show $tmp/auto.log
    run $tmp/auto2.log $c1 $args --steps 1 --device auto --out $tmp/auto2
    t "--device auto with a (emulated) GPU takes it" "grep -q '^device: cuda (--device auto)' $tmp/auto2.log" ||
        show $tmp/auto2.log
fi

TOL=1e-4
# bytes_close A B: same size, every byte within 1 of the other file's (8-bit
# pictures: a value a hair from a rounding boundary may round either way).
bytes_close() {
    [ -s "$1" ] && [ "$(wc -c <"$1")" -eq "$(wc -c <"$2")" ] || return 1
    paste <(od -An -v -tu1 -w1 "$1") <(od -An -v -tu1 -w1 "$2") |
        awk '{ d = $1 - $2; if (d > 1 || d < -1) bad = 1 } END { exit bad }'
}
# pair NAME PROG "ARGS" FILE...: PROG ARGS on --device cuda and on --device
# cpu (run directories $tmp/NAME_gpu and $tmp/NAME_cpu); the GPU run exits 0,
# says it is on the GPU, and every FILE of its run directory is within TOL
# of the CPU run's.
pair() {
    local name=$1 prog=$2 args=$3
    shift 3
    run $tmp/${name}_gpu.log $prog $args --device cuda --out $tmp/${name}_gpu
    local status=$?
    t "$name --device cuda (emulated GPU): exit 0" "[ $status -eq 0 ]" || show $tmp/${name}_gpu.log
    t "$name --device cuda: the banner says so" "grep -q '^device: cuda' $tmp/${name}_gpu.log"
    run $tmp/${name}_cpu.log $prog $args --device cpu --out $tmp/${name}_cpu
    status=$?
    t "$name --device cpu: exit 0" "[ $status -eq 0 ]" || show $tmp/${name}_cpu.log
    for f in "$@"; do
        t "$name: $f on the GPU = on the CPU (relative $TOL)" "close $tmp/${name}_gpu/$f $tmp/${name}_cpu/$f $TOL" ||
            paste $tmp/${name}_gpu/$f $tmp/${name}_cpu/$f | head -n 8 | sed 's/^/        /'
    done
}

# --- chapter 4: WGAN, weight clipping (RMSprop, the clip kernel, the clip count) -----------
c4=$emu/chapter4
if [ ! -x "$c4" ]; then
    bad "$c4 is missing (make test builds it)"
else
    args="--dataset ring8 --batch 16 --n-critic 2 --warmup off --steps 3 --log-every 1 --sample-every 2 --checkpoint-every 0"
    pair ch4 $c4 "$args" loss.dat weights.dat
    t "ch4: the clipping count agrees (the last critic step's values past +-c)" \
        "[ \"\$(grep 'pushed' $tmp/ch4_gpu.log)\" = \"\$(grep 'pushed' $tmp/ch4_cpu.log)\" ] && grep -q pushed $tmp/ch4_gpu.log"
    # Device-independent checkpoints: step 2 of each run resumes on the other device.
    args="--dataset ring8 --batch 16 --n-critic 2 --warmup off --log-every 1 --sample-every 0"
    cross_resume ch4 $c4 "$args" $tmp/ch4_cpu/loss.dat $TOL
fi

# --- chapter 5: WGAN-GP, the gradient penalty's double backward on the GPU -----------------
c5=$emu/chapter5
if [ ! -x "$c5" ]; then
    bad "$c5 is missing (make test builds it)"
else
    pair ch5 $c5 "--dataset ring8 --batch 16 --hidden 32 --n-critic 2 --steps 3 --log-every 1 --sample-every 0 --checkpoint-every 0" \
        loss.dat critic_000000.dat gradnorm_hist.dat samples.txt
fi

# --- chapters 3, 6, 7 (slow under the emulator) ------------------------------------------------
c3=$emu/chapter3
if [ "${GANBOOK_CUDA_CH3:-0}" = 1 ]; then
    fake=$PWD/$tmp/fake-data
    mkdir -p $fake/mnist
    { printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
      LC_ALL=C awk 'BEGIN { s = 7; for (i = 0; i < 200 * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
    } >$fake/mnist/train-images-idx3-ubyte
    { printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
      LC_ALL=C awk 'BEGIN { for (i = 0; i < 200; i++) printf "%c", 1 + i % 9 }'
    } >$fake/mnist/train-labels-idx1-ubyte
    args="--width 4 --batch 4 --steps 2 --log-every 1 --sample-every 0 --checkpoint-every 0"
    for conv in gemm naive; do
        GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 run $tmp/c3gpu_$conv.log $c3 $args --conv $conv --device cuda --out $tmp/c3gpu_$conv
        status=$?
        t "chapter3 --device cuda --conv $conv (emulated GPU): 2 DCGAN steps exit 0" "[ $status -eq 0 ]" ||
            show $tmp/c3gpu_$conv.log
        GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 run $tmp/c3cpu_$conv.log $c3 $args --conv $conv --device cpu --out $tmp/c3cpu_$conv
        t "chapter3 --conv $conv: loss.dat on the GPU = on the CPU (relative 1e-4)" \
            "close $tmp/c3gpu_$conv/loss.dat $tmp/c3cpu_$conv/loss.dat 1e-4" ||
            paste $tmp/c3gpu_$conv/loss.dat $tmp/c3cpu_$conv/loss.dat | sed 's/^/        /'
    done
    GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 $c3 $args --conv student --device cuda --out $tmp/c3stu >$tmp/c3stu.log 2>&1
    status=$?
    t "chapter3 --conv student --device cuda: refused (exercises run on the CPU), exit 2" "[ $status -eq 2 ]" ||
        show $tmp/c3stu.log

    # Chapters 6 and 7 on the same fake MNIST (its test split too: chapter 7's held-out probe).
    cp $fake/mnist/train-images-idx3-ubyte $fake/mnist/t10k-images-idx3-ubyte
    cp $fake/mnist/train-labels-idx1-ubyte $fake/mnist/t10k-labels-idx1-ubyte
    export GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1
    # Chapter 6: labels checked on the host and uploaded, one-hot G, projection D (embedding + scatter).
    pair ch6 $emu/chapter6 "--width 4 --batch 4 --steps 2 --log-every 1 --sample-every 0 --checkpoint-every 0 --cond projection" \
        loss.dat
    # Chapter 7, the full recipe (spectral norm, hinge, R1 -- every step here --, EMA, DiffAugment
    # colour + translation + cutout), batch norm off as R1 needs.
    pair ch7 $emu/chapter7 "--recipe full --r1-every 1 --ema-start 0 --width 4 --batch 4 --steps 2 --log-every 2 --sample-every 0 --checkpoint-every 0" \
        loss.dat dout.dat sigma.dat
    t "ch7: the final samples (drawn with the EMA weights) on the GPU = on the CPU, to a grey level" \
        "bytes_close $tmp/ch7_gpu/samples.idx $tmp/ch7_cpu/samples.idx"
    unset GANBOOK_DATA GANBOOK_NO_FETCH
else
    echo "  (chapters 3, 6 and 7 on the emulated GPU skipped: GANBOOK_CUDA_CH3=1 or make cuda-chapters-emu runs them)"
fi

echo "cuda_chapters: $pass passed, $fail failed"
[ $fail -eq 0 ]
