#!/usr/bin/env bash
# test_ch06.sh: smoke tests of chapter 6, the conditional GAN (make test builds
# ./chapter6 first and runs this from the repository root). Like
# tests/test_chapters.sh: a few steps on tiny settings into tests/tmp/ch06/, on a
# made-up MNIST (GANBOOK_DATA, no download, no classifier), then checks of what
# the run leaves behind: loss.dat, the grids, class_strip.png, samples.idx and
# samples_labels.idx (the labels asked for, IDX unsigned byte), metrics.txt,
# checkpoint.bin; --resume from a mid-run checkpoint gives the same bytes as an
# uninterrupted run (both ways of conditioning D and G); --sample --class K;
# mistakes end with one clear message and a non-zero status. With the real
# MNIST and its classifier: the label accuracy and the per-class figures.
# CHECK_VERBOSE=1 lists every check.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/ch06
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail=0
. tests/support/sh_checks.sh  # t, run, show, png_ok, ckpt_ok, metric
dat_ok() {  # FILE HEADER ROWS
    [ "$(head -n 1 "$1")" = "$2" ] || return 1
    [ "$(tail -n +2 "$1" | wc -l)" -eq "$3" ] || return 1
    local n
    n=$(echo "$2" | wc -w)
    tail -n +2 "$1" | awk -v n=$((n - 1)) 'NF != n || $1 !~ /^[0-9]+$/ { bad = 1 }
        { for (i = 2; i <= NF; i++) if ($i !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) bad = 1 } END { exit bad }'
}
has_metrics() {  # DIR KEY...: every key has a value in DIR/metrics.txt
    local dir=$1 k
    shift
    for k in "$@"; do [ -n "$(metric "$dir" "$k" 2>/dev/null)" ] || return 1; done
}
clean_error() {  # LOG STATUS WANT
    local log=$1 status=$2 want=$3
    if [ "$want" = fail ]; then
        [ "$status" -ne 0 ] && [ "$status" -lt 128 ] || return 1
    else
        [ "$status" -eq "$want" ] || return 1
    fi
    [ "$(grep -c '^error: ' "$log")" -eq 1 ] && grep -q '^HINT: ' "$log"
}
# samples_labels.idx: magic 0x00000801, 10,000 entries, entry i = i mod 10
labels_ok() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 0000080100002710 ] || return 1
    [ "$(wc -c <"$1")" -eq 10008 ] || return 1
    tail -c +9 "$1" | od -An -v -tu1 | tr -s ' ' '\n' | grep -v '^$' |
        awk '{ if ($1 != (NR - 1) % 10) bad = 1 } END { exit bad || NR != 10000 }'
}

if [ ! -x ./chapter6 ]; then
    bad "./chapter6 is missing (make test builds it; or make chapter6)"
    echo "test_ch06: $pass passed, $fail failed"
    exit 1
fi

# A tiny made-up MNIST: 200 images of deterministic noise, labels 0..9.
fake=$PWD/$tmp/fake-data
mkdir -p $fake/mnist
{ printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
  LC_ALL=C awk 'BEGIN { s = 11; for (i = 0; i < 200 * 784; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(s / 65536) % 255 } }'
} >$fake/mnist/train-images-idx3-ubyte
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
  for i in $(seq 0 199); do printf "\\$(printf '%03o' $((i % 10)))"; done  # bytes 0..9 (awk may not print a NUL)
} >$fake/mnist/train-labels-idx1-ubyte
ch6() { env GANBOOK_DATA=$fake GANBOOK_NO_FETCH=1 ./chapter6 "$@"; }
tiny="--width 4 --batch 8 --log-every 2 --sample-every 3 --checkpoint-every 3 --threads 2"
d=$tmp/run

run $d.a.log ch6 $tiny --steps 6 --out $d/a
status=$?
t "chapter6: 6 steps of a width-4 conditional DCGAN (projection D) exit 0" "[ $status -eq 0 ]" || show $d.a.log
t "chapter6: loss.dat has its header and 4 rows (steps 1, 2, 4, 6)" \
    "dat_ok $d/a/loss.dat '# step d_loss g_loss D(x,y) D(G(z,y),y)' 4"
t "chapter6: sample grids at steps 0, 3, 6 and class_strip.png are PNGs" \
    "png_ok $d/a/samples_000000.png && png_ok $d/a/samples_000003.png && png_ok $d/a/samples_000006.png && png_ok $d/a/class_strip.png"
t "chapter6: samples.idx holds 10,000 images of 32x32" \
    "[ \"\$(head -c 16 $d/a/samples.idx | od -An -tx1 | tr -d ' \n')\" = 00000803000027100000002000000020 ] && [ \$(wc -c <$d/a/samples.idx) -eq $((16 + 10000 * 1024)) ]"
t "chapter6: samples_labels.idx is IDX unsigned byte, 10,000 labels, i mod 10" "labels_ok $d/a/samples_labels.idx"
t "chapter6: metrics.txt has cond projection, g_label onehot, width 4" \
    "[ '$(metric $d/a cond 2>/dev/null)' = projection ] && [ '$(metric $d/a g_label 2>/dev/null)' = onehot ] && [ '$(metric $d/a width 2>/dev/null)' = 4 ]"
t "chapter6: no classifier: 'evaluation skipped' with a HINT, and the run goes on" \
    "grep -q '^evaluation skipped' $d.a.log && grep -q '^HINT: .*classifier' $d.a.log && [ -z '$(metric $d/a fid 2>/dev/null)' ]"
t "chapter6: checkpoint.bin is a checkpoint" "ckpt_ok $d/a/checkpoint.bin"

# --- resume: bit for bit, for both discriminators and both label codes -------------
for variant in "projection onehot" "concat embed"; do
    set -- $variant
    name=$1-$2
    run $d.$name.u.log ch6 $tiny --cond $1 --g-label $2 --steps 6 --out $d/$name-u
    run $d.$name.b1.log ch6 $tiny --cond $1 --g-label $2 --steps 3 --out $d/$name-r
    run $d.$name.b2.log ch6 --resume $d/$name-r/checkpoint.bin --steps 6 --sample-every 3 --checkpoint-every 3 --threads 2
    status=$?
    t "chapter6 --cond $1 --g-label $2: --resume from step 3 exit 0" "[ $status -eq 0 ]" || show $d.$name.b2.log
    t "chapter6 --cond $1 --g-label $2: resumed loss.dat, checkpoint.bin, samples.idx == uninterrupted ones" \
        "cmp -s $d/$name-u/loss.dat $d/$name-r/loss.dat && cmp -s $d/$name-u/checkpoint.bin $d/$name-r/checkpoint.bin && cmp -s $d/$name-u/samples.idx $d/$name-r/samples.idx"
done
t "chapter6: the two conditionings train differently (step 6's losses differ)" \
    "! cmp -s $d/projection-onehot-u/loss.dat $d/concat-embed-u/loss.dat"
t "chapter6: metrics.txt records --cond concat --g-label embed" \
    "[ '$(metric $d/concat-embed-u cond 2>/dev/null)' = concat ] && [ '$(metric $d/concat-embed-u g_label 2>/dev/null)' = embed ]"

# --- --sample, one class -----------------------------------------------------------
run $d.s.log ch6 --sample $d/a/checkpoint.bin --class 3 --out $d/sevens
status=$?
t "chapter6: --sample CKPT --class 3 writes sample_step000006.png" "[ $status -eq 0 ] && png_ok $d/sevens/sample_step000006.png" ||
    show $d.s.log
run $d.s2.log ch6 --sample $d/a/checkpoint.bin --out $d/all
t "chapter6: --class 3 draws another picture than one class per row" \
    "png_ok $d/all/sample_step000006.png && ! cmp -s $d/all/sample_step000006.png $d/sevens/sample_step000006.png"

# --- mistakes ----------------------------------------------------------------------
run $d.e1.log ch6 --cond hinge
t "chapter6: --cond hinge: one error line, exit 2" "clean_error $d.e1.log $? 2" || show $d.e1.log
run $d.e2.log ch6 --g-label word2vec
t "chapter6: --g-label word2vec: one error line, exit 2" "clean_error $d.e2.log $? 2" || show $d.e2.log
run $d.e3.log ch6 --class 10
t "chapter6: --class 10: one error line, exit 2" "clean_error $d.e3.log $? 2" || show $d.e3.log
run $d.e4.log ch6 --dataset ring8
t "chapter6: --dataset ring8 (labelled images only): one error line, exit 2" "clean_error $d.e4.log $? 2" || show $d.e4.log
run $d.e5.log ch6 --resume $d/a/checkpoint.bin --steps 12 --cond concat
t "chapter6: --resume a projection run with --cond concat: one error line, exit 2" "clean_error $d.e5.log $? 2" ||
    show $d.e5.log
run $d.e6.log ch6 --width 0
t "chapter6: --width 0: one error line, exit 2" "clean_error $d.e6.log $? 2" || show $d.e6.log
run $d.e7.log env GANBOOK_DATA=$PWD/$tmp/no-data GANBOOK_NO_FETCH=1 ./chapter6 --out $d/nodata
t "chapter6: a missing dataset: error + HINT (make data), no crash" \
    "clean_error $d.e7.log $? fail && grep -q 'HINT: .*make data' $d.e7.log" || show $d.e7.log
head -c 3000 $d/a/checkpoint.bin >$d/broken.bin
run $d.e8.log ch6 --resume $d/broken.bin --steps 12 --out $d/broken
t "chapter6: a truncated checkpoint: error + HINT, no crash" "clean_error $d.e8.log $? fail" || show $d.e8.log

# --- with the real MNIST and a trained classifier: label accuracy, per-class figures ----
if [ -s datasets/data/mnist/train-images-idx3-ubyte ] && [ -s datasets/data/mnist/classifier.bin ]; then
    run $d.m.log env GANBOOK_NO_FETCH=1 ./chapter6 --width 4 --batch 16 --steps 2 --sample-every 0 --threads 2 --out $d/mnist
    status=$?
    t "chapter6: 2 steps on MNIST, then fid, inception_score, classes_covered, class_kl, label_accuracy in metrics.txt" \
        "[ $status -eq 0 ] && has_metrics $d/mnist fid inception_score classes_covered class_kl label_accuracy" ||
        show $d.m.log
    t "chapter6: ... accuracy_class_k, fid_class_k, fid_real_class_k for k = 0..9" \
        "has_metrics $d/mnist \$(for k in 0 1 2 3 4 5 6 7 8 9; do echo accuracy_class_\$k fid_class_\$k fid_real_class_\$k; done)"
    t "chapter6: ... label accuracy printed beside the real-data calibration" \
        "grep -q '^label accuracy: ' $d.m.log && grep -q '^ *real.*held-out' $d.m.log && grep -q '^ *noise' $d.m.log"
else
    echo "  skip: MNIST or its classifier missing (make data, make classifier); chapter 6's evaluation is not tested"
fi

echo "test_ch06: $pass passed, $fail failed"
[ $fail -eq 0 ]
