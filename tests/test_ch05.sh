#!/usr/bin/env bash
# test_ch05.sh: smoke tests of chapter 5, WGAN-GP (make test builds ./chapter5
# first and runs this from the repository root). Tiny runs into
# tests/tmp/ch05/: on ring8 (MLP critic), and on a made-up MNIST of 200 noise
# images (the conv critic with layer norm); what they leave behind (loss.dat
# with the critic's columns, the critic heat maps, the gradient-norm
# histogram, metrics.txt, checkpoint.bin); --resume from a mid-run
# checkpoint gives the same bytes as an uninterrupted run; bad flags and
# settings that contradict a checkpoint exit 2 with one message and a HINT.
# The penalty itself is tested by tests/test_penalty.c (against PyTorch and
# finite differences) and graded by tests/grader/grade_ch05.c.
# CHECK_VERBOSE=1 lists every check.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/ch05
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
. tests/support/sh_checks.sh  # t, run, show, png_ok, ckpt_ok, metric
dat_ok() {  # FILE HEADER ROWS: the header, then ROWS rows of numbers, the first an integer step
    [ "$(head -n 1 "$1")" = "$2" ] || return 1
    [ "$(tail -n +2 "$1" | wc -l)" -eq "$3" ] || return 1
    local n
    n=$(echo "$2" | wc -w)
    tail -n +2 "$1" | awk -v n=$((n - 1)) 'NF != n || $1 !~ /^[0-9]+$/ { bad = 1 }
        { for (i = 2; i <= NF; i++) if ($i !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) bad = 1 } END { exit bad }'
}
clean_error() {  # LOG STATUS WANT: one "error:" line, a HINT, status WANT (or "fail": non-zero, not a crash)
    local log=$1 status=$2 want=$3
    if [ "$want" = fail ]; then
        [ "$status" -ne 0 ] && [ "$status" -lt 128 ] || return 1
    else
        [ "$status" -eq "$want" ] || return 1
    fi
    [ "$(grep -c '^error: ' "$log")" -eq 1 ] && grep -q '^HINT: ' "$log"
}

prog=./chapter5
if [ ! -x $prog ]; then
    echo "  FAIL: $prog is missing (make test builds it; or make chapter5)"
    echo "test_ch05: 0 passed, 1 failed"
    exit 1
fi
header='# step critic_loss g_loss w_estimate penalty grad_norm'

# --- ring8: a tiny MLP critic ---------------------------------------------------------------
small="--hidden 16 --batch 32 --n-critic 2 --log-every 5 --sample-every 10 --checkpoint-every 10"
d=$tmp/ring
run $d.a.log $prog $small --steps 20 --out $d/a
status=$?
t "chapter5: 20 steps on ring8 exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "chapter5: loss.dat has the critic's columns and 5 rows (steps 1, 5, ..., 20)" "dat_ok $d/a/loss.dat '$header' 5"
t "chapter5: the penalty column is >= 0 and the norms column > 0" \
    "awk 'NR > 1 && (\$5 < 0 || \$6 <= 0) { bad = 1 } END { exit bad }' $d/a/loss.dat"
t "chapter5: metrics.txt has the toy metrics and lambda 0.1 (the toys' default), n_critic 2, critic_norm none" \
    "[ '$(metric $d/a modes_total)' = 8 ] && [ -n '$(metric $d/a modes_covered)' ] && [ '$(metric $d/a lambda)' = 0.1 ] && [ '$(metric $d/a n_critic)' = 2 ] && [ '$(metric $d/a critic_norm)' = none ]"
t "chapter5: critic_000000/10/20.dat: a 100x100 grid, then 1,000 real and 1,000 generated points" \
    "for s in 000000 000010 000020; do [ \$(awk 'NF == 3' $d/a/critic_\$s.dat | wc -l) -eq 10000 ] && [ \$(awk 'NF == 2' $d/a/critic_\$s.dat | wc -l) -eq 2000 ] || exit 1; done"
t "chapter5: gradnorm_hist.dat holds 2,500 positive norms; their mean is in metrics.txt" \
    "[ \$(awk 'NR > 1 && \$1 > 0' $d/a/gradnorm_hist.dat | wc -l) -eq 2500 ] && [ -n '$(metric $d/a grad_norm_mean)' ]"
t "chapter5: checkpoint.bin is a checkpoint" "ckpt_ok $d/a/checkpoint.bin"
if command -v gnuplot >/dev/null 2>&1; then
    t "chapter5: critic_*.png, gradnorm_hist.png, loss.png, scatter.png (gnuplot is installed)" \
        "png_ok $d/a/critic_000000.png && png_ok $d/a/critic_000020.png && png_ok $d/a/gradnorm_hist.png && png_ok $d/a/loss.png && png_ok $d/a/scatter.png"
fi

# --- resume: 10 steps, then 10 more from the checkpoint == 20 in one go ------------------------
run $d.b1.log $prog $small --steps 10 --out $d/b
run $d.b2.log $prog --resume $d/b/checkpoint.bin --steps 20 --sample-every 10 --checkpoint-every 10
status=$?
t "chapter5: --resume from step 10 exit 0" "[ $status -eq 0 ]" || show $d.b2.log
t "chapter5: resumed loss.dat, checkpoint.bin, samples.txt == uninterrupted ones (same bytes)" \
    "cmp -s $d/a/loss.dat $d/b/loss.dat && cmp -s $d/a/checkpoint.bin $d/b/checkpoint.bin && cmp -s $d/a/samples.txt $d/b/samples.txt"
t "chapter5: resumed critic_000020.dat and gradnorm_hist.dat == uninterrupted ones" \
    "cmp -s $d/a/critic_000020.dat $d/b/critic_000020.dat && cmp -s $d/a/gradnorm_hist.dat $d/b/gradnorm_hist.dat"
run $d.s.log $prog --sample $d/a/checkpoint.bin
status=$?
t "chapter5: --sample CKPT exit 0 and writes sample_step000020.png" \
    "[ $status -eq 0 ] && png_ok $d/a/sample_step000020.png" || show $d.s.log

# --- layer norm in the MLP critic, beta1 0 (the paper's Algorithm 1) ----------------------------
run $d.ln.log $prog $small --steps 4 --critic-norm layer --beta1 0 --out $d/ln
status=$?
t "chapter5: --critic-norm layer --beta1 0 trains (exit 0, metrics say layer)" \
    "[ $status -eq 0 ] && [ '$(metric $d/ln critic_norm 2>/dev/null)' = layer ]" || show $d.ln.log

# --- mistakes: one error line with a HINT, exit 2 -------------------------------------------------
i=0
for flags in "--bogus-flag" "--lambda -1" "--n-critic 0" "--n-critic abc" "--critic-norm batch" "--hidden 0" \
    "--beta1 1.5"; do
    i=$((i + 1))
    run $d.e$i.log $prog $flags
    t "chapter5: $flags: one error line, exit 2" "clean_error $d.e$i.log $? 2" || show $d.e$i.log
done
for flags in "--lambda 1" "--n-critic 3" "--critic-norm layer" "--hidden 32"; do
    i=$((i + 1))
    run $d.e$i.log $prog --resume $d/a/checkpoint.bin --steps 30 $flags
    t "chapter5: --resume with a contradicting $flags: one error line, exit 2" "clean_error $d.e$i.log $? 2" ||
        show $d.e$i.log
done
run $d.f.log $prog $small --steps 20 --out $d/a
t "chapter5: an existing run directory without --force: refused, HINT names --force" \
    "clean_error $d.f.log $? fail && grep -q -- '--force' $d.f.log" || show $d.f.log

# --- images: the conv critic on a tiny made-up MNIST -----------------------------------------------
# 200 images of deterministic noise (GANBOOK_DATA), as tests/test_chapters.sh makes them; no
# classifier there, so the run says the evaluation is skipped and goes on.
d=$tmp/img
fake=$PWD/$tmp/fake-data
mkdir -p $fake/mnist
{ printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
  LC_ALL=C awk 'BEGIN { s = 7; for (i = 0; i < 200 * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
} >$fake/mnist/train-images-idx3-ubyte
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
  LC_ALL=C awk 'BEGIN { for (i = 0; i < 200; i++) printf "%c", 1 + i % 9 }'
} >$fake/mnist/train-labels-idx1-ubyte
ch5() { env GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 ./chapter5 "$@"; }
tiny="--dataset mnist --width 4 --batch 8 --n-critic 2 --threads 1 --log-every 2 --sample-every 2 --checkpoint-every 2"
run $d.a.log ch5 $tiny --steps 4 --out $d/a
status=$?
t "chapter5: 4 steps of the conv critic (layer norm) on images exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "chapter5: images: loss.dat has 3 rows, metrics say critic_norm layer, width 4, lambda 10 (the paper's)" \
    "dat_ok $d/a/loss.dat '$header' 3 && [ '$(metric $d/a critic_norm 2>/dev/null)' = layer ] && [ '$(metric $d/a width 2>/dev/null)' = 4 ] && [ '$(metric $d/a lambda 2>/dev/null)' = 10 ]"
t "chapter5: images: samples.idx holds 10,000 images of 32x32, sample grids are PNGs" \
    "[ \$(wc -c <$d/a/samples.idx) -eq $((16 + 10000 * 1024)) ] && png_ok $d/a/samples_000000.png && png_ok $d/a/samples_000004.png"
t "chapter5: images: no classifier: 'evaluation skipped' with a HINT, and the run goes on" \
    "grep -q '^evaluation skipped' $d.a.log && grep -q '^HINT: .*classifier' $d.a.log"
run $d.b1.log ch5 $tiny --steps 2 --out $d/b
run $d.b2.log ch5 --resume $d/b/checkpoint.bin --steps 4 --sample-every 2 --checkpoint-every 2
status=$?
t "chapter5: images: --resume from step 2 exit 0" "[ $status -eq 0 ]" || show $d.b2.log
t "chapter5: images: resumed loss.dat and checkpoint.bin == uninterrupted ones (same bytes)" \
    "cmp -s $d/a/loss.dat $d/b/loss.dat && cmp -s $d/a/checkpoint.bin $d/b/checkpoint.bin"
run $d.e.log ch5 --resume $d/a/checkpoint.bin --steps 6 --width 8
t "chapter5: images: --resume with another --width: one error line, exit 2" "clean_error $d.e.log $? 2" || show $d.e.log

echo "test_ch05: $pass passed, $fail failed"
[ $fail -eq 0 ]
