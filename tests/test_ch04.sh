#!/usr/bin/env bash
# test_ch04.sh: smoke tests of chapter 4, the WGAN (make test builds ./chapter4
# first and runs this from the repository root). Like tests/test_chapters.sh:
# tiny runs into tests/tmp/ch04/, then checks of what they leave behind
# (loss.dat with the W estimate, weights.dat, wfid.dat, metrics.txt, PNGs,
# checkpoint.bin), of the critic schedule (n_critic and the warm-up), of the
# clipping (every critic weight in [-c, c]), the DCGAN critic (--net dcgan), that --resume gives the same
# bytes as an uninterrupted run (inside the warm-up and on images), and that
# mistakes end with one clear message and exit 2. Images use a tiny made-up
# MNIST (GANBOOK_DATA), so no download is needed. CHECK_VERBOSE=1 lists
# every check.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/ch04
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
. tests/support/sh_checks.sh  # t, run, show, png_ok, ckpt_ok, metric
dat_ok() {  # FILE HEADER ROWS: the header, then ROWS rows of numbers whose first is an integer step
    [ "$(head -n 1 "$1")" = "$2" ] || return 1
    [ "$(tail -n +2 "$1" | wc -l)" -eq "$3" ] || return 1
    local n
    n=$(echo "$2" | wc -w)
    tail -n +2 "$1" | awk -v n=$((n - 1)) 'NF != n || $1 !~ /^[0-9]+$/ { bad = 1 }
        { for (i = 2; i <= NF; i++) if ($i !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) bad = 1 } END { exit bad }'
}
clean_error() {  # LOG STATUS WANT: one "error:" line, a HINT, exit WANT (or "fail": any non-zero below 128)
    local log=$1 status=$2 want=$3
    if [ "$want" = fail ]; then
        [ "$status" -ne 0 ] && [ "$status" -lt 128 ] || return 1
    else
        [ "$status" -eq "$want" ] || return 1
    fi
    [ "$(grep -c '^error: ' "$log")" -eq 1 ] && grep -q '^HINT: ' "$log"
}
# weights.dat: for every snapshot the fractions sum to 1, and every bin lies in [-c, c]
weights_ok() {  # FILE C
    awk -v c="$2" 'NR > 1 { s[$1] += $3; if ($2 < -c || $2 > c) bad = 1 }
        END { for (k in s) if (s[k] < 0.999 || s[k] > 1.001) bad = 1; exit bad || NR < 2 }' "$1"
}

if [ ! -x ./chapter4 ]; then
    bad "./chapter4 is missing (make test builds it; or make chapter4)"
    echo "test_ch04: $pass passed, $fail failed"
    exit 1
fi
d=$tmp/toy
HEADER='# step W_estimate g_loss C(x) C(G(z))'
small="--steps 40 --batch 32 --log-every 5 --sample-every 20 --checkpoint-every 20"

# --- ring8: a short run (no warm-up, 2 critic steps) -----------------------------------
run $d.a.log ./chapter4 $small --warmup off --n-critic 2 --out $d/a
status=$?
t "40 steps on ring8 exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "loss.dat names the chapter's columns, 9 rows (steps 1, 5, ..., 40)" "dat_ok $d/a/loss.dat '$HEADER' 9"
t "loss.dat: W_estimate = C(x) - C(G(z)) on every row (to 1e-5)" \
    "awk 'NR > 1 { d = \$2 - (\$4 - \$5); if (d < -1e-5 || d > 1e-5) bad = 1 } END { exit bad }' $d/a/loss.dat"
t "metrics.txt has the toy metrics (modes_total 8) and the WGAN settings" \
    "[ '$(metric $d/a modes_total)' = 8 ] && [ -n '$(metric $d/a modes_covered)' ] && [ -n '$(metric $d/a high_quality_fraction)' ] && [ -n '$(metric $d/a mode_kl)' ] && [ '$(metric $d/a clip)' = 0.01 ] && [ '$(metric $d/a n_critic)' = 2 ]"
t "n_critic 2 without warm-up: 80 critic steps for 40 generator steps" "[ '$(metric $d/a critic_steps_this_run)' = 80 ]"
t "weights.dat: snapshots at steps 1, 20, 40 of 40 bins each" \
    "dat_ok $d/a/weights.dat '# step weight fraction' 120 && [ \"\$(awk 'NR > 1 { print \$1 }' $d/a/weights.dat | uniq | tr '\n' ' ')\" = '1 20 40 ' ]"
t "weights.dat: every snapshot sums to 1 inside [-0.01, 0.01]" "weights_ok $d/a/weights.dat 0.01"
t "clipping piles weights up at +-c (weights_at_bound > 0.1)" \
    "awk 'BEGIN { exit !(\"$(metric $d/a weights_at_bound)\" + 0 > 0.1) }'"
t "the weight histogram is drawn on screen" "grep -q '^critic weights at step 40' $d.a.log"
t "samples, sample pictures and checkpoint" \
    "[ \$(wc -l <$d/a/samples.txt) -eq 2500 ] && png_ok $d/a/samples_000000.png && png_ok $d/a/samples_000040.png && ckpt_ok $d/a/checkpoint.bin"
if command -v gnuplot >/dev/null 2>&1; then
    t "loss.png, scatter.png, weights.png, wasserstein.png (gnuplot is installed)" \
        "png_ok $d/a/loss.png && png_ok $d/a/scatter.png && png_ok $d/a/weights.png && png_ok $d/a/wasserstein.png"
fi

# --- the critic schedule ------------------------------------------------------------------
run $d.w.log ./chapter4 --steps 3 --batch 8 --log-every 1 --sample-every 0 --out $d/w
t "warm-up on: 100 critic steps for each of the first generator steps (3 steps: 300)" \
    "[ '$(metric $d/w critic_steps_this_run)' = 300 ]" || show $d.w.log
run $d.w5.log ./chapter4 --steps 502 --batch 4 --log-every 100 --sample-every 0 --checkpoint-every 0 --out $d/w5
t "warm-up: generator steps 0-24 and 500 get 100, the others 5 (502 steps: 2,500 + 100 + 476 x 5 = 4,980)" \
    "[ '$(metric $d/w5 critic_steps_this_run)' = 4980 ]" || show $d.w5.log
run $d.n.log ./chapter4 --steps 4 --batch 8 --warmup off --log-every 1 --sample-every 0 --out $d/n
t "warm-up off: n_critic 5 (4 steps: 20)" "[ '$(metric $d/n critic_steps_this_run)' = 20 ]" || show $d.n.log
run $d.c0.log ./chapter4 --steps 4 --batch 8 --warmup off --clip 0 --log-every 1 --sample-every 0 --out $d/c0
t "--clip 0: no clipping, no weight at a bound" \
    "[ '$(metric $d/c0 weights_at_bound)' = 0 ] && grep -q 'not clipped' $d.c0.log" || show $d.c0.log
run $d.ad.log ./chapter4 --steps 4 --batch 8 --warmup off --optim adam --log-every 1 --sample-every 0 --out $d/adam
t "--optim adam trains (metrics say optim adam)" "[ '$(metric $d/adam optim)' = adam ]" || show $d.ad.log

# --- resume: from step 20 (inside the warm-up) to 30 == 30 in one go ------------------------
rs="--steps 30 --batch 8 --log-every 2 --sample-every 10 --checkpoint-every 10"
run $d.r1.log ./chapter4 $rs --out $d/r1
run $d.r2.log ./chapter4 $rs --steps 20 --out $d/r2
run $d.r3.log ./chapter4 --resume $d/r2/checkpoint.bin --steps 30 --sample-every 10 --checkpoint-every 10
status=$?
t "--resume from step 20 exit 0" "[ $status -eq 0 ] && grep -q 'resuming from step 20' $d.r3.log" || show $d.r3.log
t "resumed loss.dat, weights.dat, checkpoint.bin, samples.txt == uninterrupted (same bytes)" \
    "cmp -s $d/r1/loss.dat $d/r2/loss.dat && cmp -s $d/r1/weights.dat $d/r2/weights.dat && cmp -s $d/r1/checkpoint.bin $d/r2/checkpoint.bin && cmp -s $d/r1/samples.txt $d/r2/samples.txt"
run $d.s.log ./chapter4 --sample $d/r1/checkpoint.bin
t "--sample CKPT writes sample_step000030.png" "[ $? -eq 0 ] && png_ok $d/r1/sample_step000030.png" || show $d.s.log

# --- the end of a run lists every output; another chapter's checkpoint is refused --------------
t "the output list names weights.dat (and weights.png, wasserstein.png with gnuplot)" \
    "grep '^outputs in' $d.a.log | grep -q 'weights.dat' && { ! command -v gnuplot >/dev/null 2>&1 || grep '^outputs in' $d.a.log | grep 'weights.png' | grep -q 'wasserstein.png'; }" ||
    show $d.a.log
if [ -x ./chapter1 ]; then
    run $d.c1.log ./chapter1 --steps 2 --batch 8 --sample-every 0 --out $d/ch1
    run $d.x.log ./chapter4 --resume $d/ch1/checkpoint.bin --steps 4
    t "--resume of a chapter 1 checkpoint: refused with a HINT" \
        "clean_error $d.x.log $? fail && grep -q 'chapter1' $d.x.log" || show $d.x.log
fi

# --- grid25 with a seed (what make eval-toys runs) --------------------------------------------
run $d.g.log ./chapter4 --dataset grid25 --seed 3 --steps 5 --batch 8 --warmup off --sample-every 0 --out $d/g
t "grid25 --seed 3: metrics say modes_total 25, seed 3" \
    "[ '$(metric $d/g modes_total)' = 25 ] && [ '$(metric $d/g seed)' = 3 ]" || show $d.g.log

# --- mistakes ----------------------------------------------------------------------------------
i=0
for args in "--bogus-flag" "--clip -1" "--clip abc" "--n-critic 0" "--warmup maybe" "--optim sgd" \
    "--fid-every -5" "--lr x"; do
    i=$((i + 1))
    run $d.e$i.log ./chapter4 $args --out $d/e$i
    t "$args: one error line with a HINT, exit 2" "clean_error $d.e$i.log $? 2" || show $d.e$i.log
done
run $d.e9.log ./chapter4 --resume $d/r1/checkpoint.bin --steps 60 --clip 0.1
t "--resume with a contradicting --clip: one error line, exit 2" "clean_error $d.e9.log $? 2" || show $d.e9.log
run $d.e10.log ./chapter4 $small --out $d/a
t "an existing run directory without --force: refused, HINT names --force" \
    "clean_error $d.e10.log $? fail && grep -q -- '--force' $d.e10.log" || show $d.e10.log

# --- images: a tiny made-up MNIST (200 images of noise), no classifier there --------------------
fake=$PWD/$tmp/fake-data
mkdir -p $fake/mnist
{ printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
  LC_ALL=C awk 'BEGIN { s = 7; for (i = 0; i < 200 * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
} >$fake/mnist/train-images-idx3-ubyte
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
  LC_ALL=C awk 'BEGIN { for (i = 0; i < 200; i++) printf "%c", 1 + i % 9 }'
} >$fake/mnist/train-labels-idx1-ubyte
ch4() { env GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 ./chapter4 "$@"; }
d=$tmp/img
tiny="--dataset mnist --batch 8 --warmup off --n-critic 2 --log-every 2 --sample-every 3 --checkpoint-every 3 --fid-every 3"
run $d.a.log ch4 $tiny --steps 6 --out $d/a
status=$?
t "MNIST (made up): 6 steps of the MLP WGAN exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "MNIST: loss.dat names the chapter's columns, 4 rows" "dat_ok $d/a/loss.dat '$HEADER' 4"
t "MNIST: no classifier: FID over training skipped with a HINT, wfid.dat has W_critic at steps 3 and 6" \
    "grep -q '^FID over training skipped' $d.a.log && grep -q '^HINT: .*classifier' $d.a.log && dat_ok $d/a/wfid.dat '# step W_critic' 2"
t "MNIST: the output list names wfid.dat" "grep '^outputs in' $d.a.log | grep -q 'wfid.dat'" || show $d.a.log
t "MNIST: samples.idx holds 10,000 images of 28x28, grids are PNGs" \
    "[ \$(wc -c <$d/a/samples.idx) -eq $((16 + 10000 * 784)) ] && png_ok $d/a/samples_000006.png"
run $d.b1.log ch4 $tiny --steps 3 --out $d/b
run $d.b2.log ch4 --resume $d/b/checkpoint.bin --steps 6 --sample-every 3 --checkpoint-every 3 --fid-every 3
status=$?
t "MNIST: resumed loss.dat, wfid.dat, weights.dat, checkpoint.bin == uninterrupted" \
    "[ $status -eq 0 ] && cmp -s $d/a/loss.dat $d/b/loss.dat && cmp -s $d/a/wfid.dat $d/b/wfid.dat && cmp -s $d/a/weights.dat $d/b/weights.dat && cmp -s $d/a/checkpoint.bin $d/b/checkpoint.bin" ||
    show $d.b2.log

# the DCGAN pair of common/dcgan.h (--net dcgan): a width-4 critic with batch norm, clipped
dc="--dataset mnist --net dcgan --width 4 --batch 8 --warmup off --n-critic 2 --log-every 1 --sample-every 2 --checkpoint-every 2 --fid-every 2"
run $d.dc.log ch4 $dc --steps 4 --out $d/dc
status=$?
t "--net dcgan: 4 steps exit 0, samples.idx holds 32x32 images, metrics say net dcgan" \
    "[ $status -eq 0 ] && [ \"\$(head -c 16 $d/dc/samples.idx | od -An -tx1 | tr -d ' \n')\" = 00000803000027100000002000000020 ] && [ '$(metric $d/dc net)' = dcgan ] && [ '$(metric $d/dc critic_norm)' = batch ]" ||
    show $d.dc.log
t "--net dcgan: every critic value (batch norm's gamma and beta too) inside [-0.01, 0.01]" \
    "weights_ok $d/dc/weights.dat 0.01 && grep -q '^G: DCGAN width 4' $d.dc.log"
run $d.dc1.log ch4 $dc --steps 2 --out $d/dc2
run $d.dc2.log ch4 --resume $d/dc2/checkpoint.bin --steps 4 --sample-every 2 --checkpoint-every 2 --fid-every 2
status=$?
t "--net dcgan: resumed loss.dat, wfid.dat, checkpoint.bin == uninterrupted (batch norm buffers included)" \
    "[ $status -eq 0 ] && cmp -s $d/dc/loss.dat $d/dc2/loss.dat && cmp -s $d/dc/wfid.dat $d/dc2/wfid.dat && cmp -s $d/dc/checkpoint.bin $d/dc2/checkpoint.bin" ||
    show $d.dc2.log
run $d.e1.log ./chapter4 --net dcgan --dataset ring8
t "--net dcgan on a toy: one error line, exit 2" "clean_error $d.e1.log $? 2" || show $d.e1.log
run $d.e2.log ch4 --net dcgan --critic-norm group
t "--critic-norm group: one error line, exit 2" "clean_error $d.e2.log $? 2" || show $d.e2.log
run $d.e3.log ch4 --resume $d/dc/checkpoint.bin --steps 8 --net mlp
t "--resume of a dcgan run with --net mlp: one error line, exit 2" "clean_error $d.e3.log $? 2" || show $d.e3.log

# --- with the real MNIST and its classifier: FID over training -----------------------------------
if [ -s datasets/data/mnist/train-images-idx3-ubyte ] && [ -s datasets/data/mnist/classifier.bin ]; then
    run $d.m.log env GANBOOK_NO_FETCH=1 ./chapter4 --dataset mnist --steps 4 --batch 16 --warmup off \
        --n-critic 1 --log-every 2 --sample-every 0 --fid-every 2 --out $d/mnist
    status=$?
    t "real MNIST: wfid.dat has W_critic and a finite FID at steps 2 and 4; fid in metrics.txt" \
        "[ $status -eq 0 ] && dat_ok $d/mnist/wfid.dat '# step W_critic fid' 2 && [ -n '$(metric $d/mnist fid)' ] && [ -n '$(metric $d/mnist last_fid_1000)' ]" ||
        show $d.m.log
else
    echo "  skip: MNIST or its classifier missing (make data, make classifier); FID over training is not tested"
fi

echo "test_ch04: $pass passed, $fail failed"
[ $fail -eq 0 ]
