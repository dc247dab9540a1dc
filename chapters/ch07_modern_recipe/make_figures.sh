#!/usr/bin/env bash
# make_figures.sh: the pictures chapter 7's README shows (make figures-ch7).
#
# Three short runs of ./chapter7 on 1,000 MNIST training images (100 per
# class), width 16, batch 64, STEPS steps (2000), seed 1, the full recipe
# with one technique taken out, into runs/ch7-figures/<name>/:
#   full    --recipe full                (every technique on)
#   noaug   --recipe full --augment none (DiffAugment off, all else equal)
#   nosn    --recipe full --sn off       (spectral norm off, all else equal)
# then renders and copies into chapters/ch07_modern_recipe/:
#   dout.png        D's mean output on training, held-out and generated images
#                   over training, noaug beside full, and below the auc of both
#                   (how often D scores a training image above a held-out one;
#                   plots/dout.gp)
#   sigma_nosn.png  each D layer's largest singular value over training, nosn run
#   sigma_sn.png    the same, full run (both on one y range; plots/sigma.gp)
#   ema_vs_raw.png  the full run's last step: the raw G's grid beside the EMA
#                   G's grid, same noise (plots/side_by_side.gp)
#   figures.txt     the numbers the README quotes, read from the logs (below)
# Env: STEPS (2000), TRAIN_SIZE (1000), WIDTH (16), BATCH (64), THREADS (1
# per run; the three runs go in parallel), EXTRA (flags added to every run),
# REUSE=1 keeps runs that already finished (their metrics.txt exists),
# FIGURES_OUT (runs/ch7-figures), FIGURES_DST (where the pictures go:
# chapters/ch07_modern_recipe; tests/test_ch07.sh points it elsewhere).
# Time: 419 s of CPU for the whole target (user time, /usr/bin/time; the
# three runs with their final evaluations), so about 4 to 5 minutes of wall
# time on an idle 2-core machine (14 on the shared one it was measured on).
# Needs gnuplot.
set -u
cd "$(dirname "$0")/../.." || exit 1
. chapters/require.sh
require_gnuplot figures-ch7
require_program ./chapter7 "make chapter7 (make figures-ch7 builds it)"
STEPS=${STEPS:-2000}
TRAIN_SIZE=${TRAIN_SIZE:-1000}
WIDTH=${WIDTH:-16}
BATCH=${BATCH:-64}
THREADS=${THREADS:-1}
out=${FIGURES_OUT:-runs/ch7-figures}
dst=${FIGURES_DST:-chapters/ch07_modern_recipe}
mkdir -p "$out" "$dst"
common="--train-size $TRAIN_SIZE --width $WIDTH --batch $BATCH --steps $STEPS --seed 1 --threads $THREADS --sample-every 500 --checkpoint-every 0"

# The three runs, in parallel (each on one thread: at width 16 two runs on
# one core each get more done than one run on two).
pids=""
names=""
for spec in "full|" "noaug|--augment none" "nosn|--sn off"; do
    IFS='|' read -r name flags <<<"$spec"
    if [ "${REUSE:-0}" = 1 ] && [ -s "$out/$name/metrics.txt" ]; then
        echo "figures-ch7: keeping $out/$name (REUSE=1)"
        continue
    fi
    echo "figures-ch7: ./chapter7 $common $flags ${EXTRA:-} --force --out $out/$name"
    # shellcheck disable=SC2086
    ./chapter7 $common $flags ${EXTRA:-} --force --out "$out/$name" >"$out/$name.log" 2>&1 &
    pids="$pids $!"
    names="$names $name"
done
failed=0
set -- $names
for pid in $pids; do
    if ! wait "$pid"; then
        echo "figures-ch7: FAILED: the $1 run (see $out/$1.log)" >&2
        failed=1
    fi
    shift
done
[ "$failed" = 0 ] || exit 1

set -e
f=$out/full
# dout: noaug beside full (DiffAugment), one y range.
gnuplot -e "datafile='$out/noaug/dout.dat'; title1='no augmentation (--augment none)'; datafile2='$f/dout.dat'; title2='DiffAugment (color,translation,cutout)'; outfile='$dst/dout.png'" plots/dout.gp
# sigma: one y range for both pictures, from both files.
range=$(awk '!/^#/ { for (i = 2; i <= NF; i++) { if (!n++ || $i < lo) lo = $i; if ($i > hi) hi = $i } } END { lo = lo < 0.5 ? lo / 1.2 : 0.5; hi = hi > 2 ? hi * 1.2 : 2; printf "ymin=%g; ymax=%g", lo, hi }' "$out/nosn/sigma.dat" "$f/sigma.dat")
gnuplot -e "datafile='$out/nosn/sigma.dat'; outfile='$dst/sigma_nosn.png'; title='without spectral norm (--sn off): sigma(W) of each layer of D'; $range" plots/sigma.gp
gnuplot -e "datafile='$f/sigma.dat'; outfile='$dst/sigma_sn.png'; title='with spectral norm: sigma(W / sigma(W)) of each layer of D'; $range" plots/sigma.gp
last=$(sed -n 's/^steps //p' "$f/metrics.txt")
gnuplot -e "file1='$f/samples_raw.png'; title1='raw G, step $last'; file2='$f/samples_ema.png'; title2='EMA of G (decay 0.995), step $last'; outfile='$dst/ema_vs_raw.png'; width=720" plots/side_by_side.gp

# The numbers the README quotes, straight from the logs: means over the
# first and the last fifth of the logged rows.
fifths() {  # FILE: per column, the mean over the first and the last fifth of the rows
    awk 'NR == 1 { split($0, name); next } { row[n++] = $0 } END {
        k = int(n / 5); if (k < 1) k = 1
        for (c = 2; c <= NF; c++) {
            a = b = 0
            for (i = 0; i < k; i++) { split(row[i], v); a += v[c]; split(row[n - 1 - i], v); b += v[c] }
            printf "  %-10s first fifth %9.4f   last fifth %9.4f\n", name[c + 1], a / k, b / k
        }
    }' "$1"
}
gap() {  # FILE: mean of d_train - d_heldout over the first and the last fifth
    awk 'NR > 1 { g[n++] = $2 - $3 } END { k = int(n / 5); if (k < 1) k = 1; for (i = 0; i < k; i++) { a += g[i]; b += g[n - 1 - i] }
        printf "  %-10s first fifth %9.4f   last fifth %9.4f\n", "gap", a / k, b / k }' "$1"
}
auc_peak() {  # FILE: the largest centred moving mean of auc over 11 rows (as dout.png draws it)
    awk 'BEGIN { n = 0 } NR > 1 { s[n] = $1; e[n++] = $5 } END {
        for (i = 0; i < n; i++) { m = t = 0; for (j = i - 5; j <= i + 5; j++) if (j >= 0 && j < n) { t += e[j]; m++ }
            if (i == 0 || t / m > best) { best = t / m; at = s[i] } }
        printf "  auc, moving mean over 11 rows: largest %.4f at step %d\n", best, at }' "$1"
}
ends() {  # FILE: the first and the last row, and the product of each row's columns
    awk 'NR > 1 { last = $0 }
        NR == 2 { first = $0 }
        END { split(first, a); split(last, b); p = q = 1; x = y = ""
              for (c = 2; c <= length(a); c++) { p *= a[c]; q *= b[c]; x = x " " a[c]; y = y " " b[c] }
              printf "  step %d:%s (product %.4g)\n  step %d:%s (product %.4g)\n", a[1], x, p, b[1], y, q }' "$1"
}
{
    echo "# make figures-ch7: $STEPS steps, $TRAIN_SIZE training images, width $WIDTH, batch $BATCH, seed 1 ($(date -u +%Y-%m-%d))"
    for r in noaug full; do
        echo "dout.dat, $r run (D's mean raw output; gap = d_train - d_heldout):"
        fifths "$out/$r/dout.dat"
        gap "$out/$r/dout.dat"
        auc_peak "$out/$r/dout.dat"
    done
    for r in nosn full; do
        echo "sigma.dat, $r run (largest singular value per layer):"
        fifths "$out/$r/sigma.dat"
        ends "$out/$r/sigma.dat"
    done
    for r in full noaug nosn; do
        echo "metrics, $r run: $(awk '$1 ~ /^(fid|inception_score|classes_covered|class_kl|ms_per_step)$/ { printf "%s %s  ", $1, $2 }' "$out/$r/metrics.txt")"
    done
} >"$dst/figures.txt"
cat "$dst/figures.txt"
ls -la "$dst"/*.png | awk '{ print "  " $5 " bytes  " $9 }'
