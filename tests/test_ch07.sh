#!/usr/bin/env bash
# test_ch07.sh: smoke tests of chapter 7, the modern recipe (make test builds
# ./chapter7 first and runs this from the repository root). Tiny runs on a
# made-up MNIST (GANBOOK_DATA: 200 training and 50 test images of
# deterministic noise, so no download), then checks of what they leave
# behind: loss.dat, dout.dat, sigma.dat with their headers, the EMA and raw
# grids, the buffers a checkpoint must carry (spectral norm's u and v, the
# EMA averages), --resume giving the same bytes as an uninterrupted run, the
# baseline recipe, --train-size, and mistakes ending with one clear message
# and exit 2. CHECK_VERBOSE=1 lists every check.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/ch07
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
. tests/support/sh_checks.sh  # t, run, show, png_ok, ckpt_ok, metric
dat_ok() {  # FILE HEADER ROWS
    [ "$(head -n 1 "$1")" = "$2" ] && [ "$(tail -n +2 "$1" | wc -l)" -eq "$3" ] &&
        tail -n +2 "$1" | awk -v n="$(echo "$2" | wc -w)" 'NF != n - 1 { bad = 1 } END { exit bad }'
}
finite() {  # FILE: after the header, every field a finite number (no nan, no inf)
    tail -n +2 "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i !~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/) bad = 1 } END { exit bad || NR == 0 }'
}
clean_error() {  # LOG STATUS: one "error:" line, a HINT, exit 2
    [ "$2" -eq 2 ] && [ "$(grep -c '^error: ' "$1")" -eq 1 ] && grep -q '^HINT: ' "$1"
}

if [ ! -x ./chapter7 ]; then
    bad "./chapter7 is missing (make test builds it; or make chapter7)"
    echo "test_ch07: $pass passed, $fail failed"
    exit 1
fi

fake=$PWD/$tmp/fake-data
mkdir -p $fake/mnist
idx_images() {  # COUNT SEED
    printf '\x00\x00\x08\x03'
    printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"
    printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'
    LC_ALL=C awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
}
idx_images 200 7 >$fake/mnist/train-images-idx3-ubyte
idx_images 50 11 >$fake/mnist/t10k-images-idx3-ubyte
# labels 0..9 in turn (awk cannot print a NUL with %c everywhere: printf with octal instead)
labels() { local i; for ((i = 0; i < $1; i++)); do printf "\\$(printf %03o $((i % 10)))"; done; }
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'; labels 200; } >$fake/mnist/train-labels-idx1-ubyte
{ printf '\x00\x00\x08\x01\x00\x00\x00\x32'; labels 50; } >$fake/mnist/t10k-labels-idx1-ubyte
ch7() { env GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 ./chapter7 "$@"; }
tiny="--width 4 --batch 8 --log-every 2 --sample-every 4 --checkpoint-every 4 --r1-every 2 --ema-start 2"
d=$tmp/run

# --- the full recipe ---------------------------------------------------------------------
run $d.a.log ch7 $tiny --steps 8 --out $d/a
status=$?
t "full recipe: 8 steps exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "loss.dat: the chapter's columns, 5 rows (steps 1, 2, 4, 6, 8)" \
    "dat_ok $d/a/loss.dat '# step d_loss g_loss d_real d_fake r1' 5"
t "loss.dat: R1 was computed (every 2 steps) and is finite and positive" \
    "awk 'NR > 2 && !(\$6 > 0) { bad = 1 } END { exit bad }' $d/a/loss.dat"
t "dout.dat: D on training, held-out and generated images, 5 rows" \
    "dat_ok $d/a/dout.dat '# step d_train d_heldout d_fake auc' 5"
t "sigma.dat: one column per D layer, 5 rows" "dat_ok $d/a/sigma.dat '# step sigma1 sigma2 sigma3 sigma4' 5"
# One power-iteration step per forward pass: the estimate follows sigma_max
# over a few steps (sigma.dat at step 1 is up to 18% off here, 3% at step 8).
t "spectral norm: every layer's largest singular value is 1 (to 5%) after 8 steps" \
    "tail -n 1 $d/a/sigma.dat | awk '{ for (i = 2; i <= NF; i++) if (\$i < 0.95 || \$i > 1.05) bad = 1 } END { exit bad }'"
t "dout.dat and sigma.dat: every value a finite number" \
    "finite $d/a/dout.dat && finite $d/a/sigma.dat"
t "dout.dat: auc (a share of pairs) lies in [0, 1] on every row" \
    "awk 'NR > 1 && !(\$5 >= 0 && \$5 <= 1) { bad = 1 } END { exit bad }' $d/a/dout.dat"
t "samples_raw.png, samples_ema.png and the grids are PNGs" \
    "png_ok $d/a/samples_raw.png && png_ok $d/a/samples_ema.png && png_ok $d/a/samples_000008.png"
if command -v gnuplot >/dev/null 2>&1; then
    t "dout.png and sigma.png (plots/dout.gp, plots/sigma.gp) are PNGs" "png_ok $d/a/dout.png && png_ok $d/a/sigma.png"
fi
t "metrics.txt records the recipe" \
    "[ '$(metric $d/a recipe)' = full ] && [ '$(metric $d/a loss)' = hinge ] && [ '$(metric $d/a sn)' = on ] && [ '$(metric $d/a train_size)' = 200 ]"
t "the checkpoint holds spectral norm's u and v and the EMA averages" \
    "grep -aq 'D.conv1.sn_u' $d/a/checkpoint.bin && grep -aq 'D.conv4.sn_v' $d/a/checkpoint.bin && grep -aq 'ema.G.up1.weight' $d/a/checkpoint.bin"

run $d.b1.log ch7 $tiny --steps 4 --out $d/b
run $d.b2.log ch7 --resume $d/b/checkpoint.bin --steps 8
status=$?
t "--resume from step 4 exit 0" "[ $status -eq 0 ]" || show $d.b2.log
t "resumed loss.dat, dout.dat, sigma.dat, samples.idx and checkpoint == uninterrupted ones" \
    "cmp -s $d/a/loss.dat $d/b/loss.dat && cmp -s $d/a/dout.dat $d/b/dout.dat && cmp -s $d/a/sigma.dat $d/b/sigma.dat && cmp -s $d/a/samples.idx $d/b/samples.idx && cmp -s $d/a/checkpoint.bin $d/b/checkpoint.bin"
run $d.s.log ch7 --sample $d/a/checkpoint.bin
status=$?
t "--sample CKPT writes sample_step000008.png" "[ $status -eq 0 ] && png_ok $d/a/sample_step000008.png" || show $d.s.log

# --- the baseline and the subset ------------------------------------------------------------
run $d.c.log ch7 $tiny --recipe baseline --steps 4 --train-size 100 --out $d/c
status=$?
t "baseline recipe on 100 images: exit 0, BCE losses, batch norm, no EMA pictures" \
    "[ $status -eq 0 ] && [ '$(metric $d/c loss)' = ns ] && [ '$(metric $d/c d_norm)' = batch ] && [ '$(metric $d/c train_size)' = 100 ] && [ ! -e $d/c/samples_ema.png ]" ||
    show $d.c.log
t "baseline: no spectral norm, so sigma.dat's values are not all 1" \
    "tail -n 1 $d/c/sigma.dat | awk '{ for (i = 2; i <= NF; i++) if (\$i < 0.98 || \$i > 1.02) far = 1 } END { exit !far }'"

# --- make figures-ch7's script, end to end at toy size ------------------------------------
# Its three runs (4 steps, width 4, 100 images) and every picture, written
# under tests/tmp instead of the chapter's directory (FIGURES_DST).
if command -v gnuplot >/dev/null 2>&1; then
    fig=$tmp/figures
    run $fig.log env GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 GANBOOK_EVAL_SAMPLES=200 STEPS=4 TRAIN_SIZE=100 WIDTH=4 \
        BATCH=8 EXTRA="--log-every 1 --ema-start 2" FIGURES_OUT=$fig/runs FIGURES_DST=$fig \
        bash chapters/ch07_modern_recipe/make_figures.sh
    status=$?
    t "make_figures.sh at toy size: exit 0" "[ $status -eq 0 ]" || show $fig.log
    t "make_figures.sh: dout.png, sigma_nosn.png, sigma_sn.png, ema_vs_raw.png are PNGs" \
        "png_ok $fig/dout.png && png_ok $fig/sigma_nosn.png && png_ok $fig/sigma_sn.png && png_ok $fig/ema_vs_raw.png"
    fig_runs_ok() {  # the three runs' logs: a row per step, every value finite
        local r
        for r in full noaug nosn; do
            dat_ok $fig/runs/$r/dout.dat '# step d_train d_heldout d_fake auc' 4 && finite $fig/runs/$r/dout.dat &&
                finite $fig/runs/$r/sigma.dat || return 1
        done
    }
    t "make_figures.sh: its three runs' dout.dat (4 rows) and sigma.dat are finite" fig_runs_ok
    t "make_figures.sh: figures.txt has the gap of both dout runs, and no nan or inf" \
        "[ \$(grep -c '^  gap ' $fig/figures.txt) -eq 2 ] && ! grep -qiw 'nan\\|inf' $fig/figures.txt"
fi

# --- mistakes -------------------------------------------------------------------------------
run $d.e1.log ch7 --r1 1 --d-norm batch --out $d/e1
status=$?
t "--r1 with --d-norm batch: one error, a HINT, exit 2" "clean_error $d.e1.log $status"
run $d.e2.log ch7 --augment color,zoom --out $d/e2
status=$?
t "--augment with an unknown policy: one error, a HINT, exit 2" "clean_error $d.e2.log $status"
run $d.e3.log ch7 --train-size 5 --out $d/e3
status=$?
t "--train-size below the class count: one error, a HINT, exit 2" "clean_error $d.e3.log $status"
run $d.e4.log ch7 --loss wasserstein --out $d/e4
status=$?
t "--loss with an unknown name: exit 2" "[ $status -eq 2 ] && grep -q '^error: ' $d.e4.log"

echo "test_ch07: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
