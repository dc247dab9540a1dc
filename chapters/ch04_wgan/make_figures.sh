#!/usr/bin/env bash
# make_figures.sh: the pictures chapter 4's README shows (make figures-ch4).
#
# Trains, two at a time (one thread each):
#   runs/figures/chapter4         ./chapter4 with every default (ring8, 5,000 steps)
#   runs/figures/chapter4-mnist   ./chapter4 --dataset mnist --steps $MNIST_STEPS --fid-every $FID_EVERY
# then copies and renders into chapters/ch04_wgan/:
#   loss.png  wasserstein.png  weights.png  scatter.png  samples_000000.png ... samples_005000.png
#   metrics_default.txt                  (the ring8 run)
#   mnist_loss.png  mnist_wasserstein.png  mnist_weights.png  wfid.png  mnist_samples.png  metrics_mnist.txt
# The plots are drawn at 800x600 (loss.dat thinned to every 4th row) so each
# file stays well under 100 KB. Needs gnuplot.
# Env: MNIST_STEPS (default 3000), FID_EVERY (default 60), FIGURES_OUT
# (default runs/figures), FIGURES_ONLY=toy|mnist (one of the two runs),
# FIGURES_RENDER_ONLY=1 (no training: render from the runs already in
# FIGURES_OUT, e.g. after training them by hand with the commands above).
set -u
cd "$(dirname "$0")/../.." || exit 1
. chapters/require.sh
require_gnuplot figures-ch4
require_program ./chapter4 "make figures-ch4 builds it (or make chapter4)"
OUT=${FIGURES_OUT:-runs/figures}
MNIST_STEPS=${MNIST_STEPS:-3000}
FID_EVERY=${FID_EVERY:-60}
ONLY=${FIGURES_ONLY:-}
dst=chapters/ch04_wgan
mkdir -p "$OUT"

plot_small() {  # SCRIPT VARS: the script with an 800x600 canvas
    local script
    script=$(sed 's/size 1000, 750/size 800, 600/; s/size 900, 600/size 800, 540/' "plots/$1")
    gnuplot -e "$2" <(printf '%s\n' "$script")
}
thin() { awk 'NR == 1 || (NR - 2) % 4 == 0' "$1" >"$2"; }

toy=$OUT/chapter4
mnist=$OUT/chapter4-mnist
start=$(date +%s)
if [ "${FIGURES_RENDER_ONLY:-0}" = 1 ]; then
    ONLY_TRAIN=none
else
    ONLY_TRAIN=$ONLY
fi
if [ "$ONLY_TRAIN" != none ] && [ "$ONLY" != mnist ]; then
    echo "== ./chapter4 (defaults) -> $toy"
    ./chapter4 --force --out "$toy" >"$toy.log" 2>&1 &
fi
if [ "$ONLY_TRAIN" != none ] && [ "$ONLY" != toy ]; then
    echo "== ./chapter4 --dataset mnist --steps $MNIST_STEPS --fid-every $FID_EVERY -> $mnist"
    ./chapter4 --dataset mnist --steps "$MNIST_STEPS" --fid-every "$FID_EVERY" --force --out "$mnist" >"$mnist.log" 2>&1 &
fi
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done
[ "$ONLY_TRAIN" = none ] || echo "trained in $(($(date +%s) - start)) s (both runs side by side)"
if [ $failed -ne 0 ]; then
    echo "error: a run failed; see $toy.log and $mnist.log" >&2
    exit 1
fi

set -e
if [ "$ONLY" != mnist ]; then
    tail -n 16 "$toy.log"
    mkdir -p "$toy-every-4th-row"
    thin "$toy/loss.dat" "$toy-every-4th-row/loss.dat"
    plot_small loss.gp "datafile='$toy-every-4th-row/loss.dat'; outfile='$dst/loss.png'"
    plot_small weights.gp "datafile='$toy/weights.dat'; outfile='$dst/weights.png'; curves=4"
    plot_small wasserstein.gp "datafile='$toy/loss.dat'; outfile='$dst/wasserstein.png'"
    plot_small scatter.gp "fakefile='$toy/samples.txt'; realfile='$toy/real.txt'; outfile='$dst/scatter.png'; extent=1.5"
    for s in 000000 000500 001000 002000 005000; do cp "$toy/samples_$s.png" "$dst/samples_$s.png"; done
    cp "$toy/metrics.txt" "$dst/metrics_default.txt"
fi
if [ "$ONLY" != toy ]; then
    grep -A 8 '^evaluation\|^  images' "$mnist.log" | head -n 12 || true
    grep 'Spearman' "$mnist.log" || true
    mkdir -p "$mnist-every-4th-row"
    thin "$mnist/loss.dat" "$mnist-every-4th-row/loss.dat"
    plot_small loss.gp "datafile='$mnist-every-4th-row/loss.dat'; outfile='$dst/mnist_loss.png'"
    plot_small weights.gp "datafile='$mnist/weights.dat'; outfile='$dst/mnist_weights.png'; curves=4"
    plot_small wfid.gp "datafile='$mnist/wfid.dat'; outfile='$dst/wfid.png'"
    plot_small wasserstein.gp "datafile='$mnist/loss.dat'; outfile='$dst/mnist_wasserstein.png'"
    cp "$(ls "$mnist"/samples_*.png | tail -n 1)" "$dst/mnist_samples.png"
    cp "$mnist/metrics.txt" "$dst/metrics_mnist.txt"
fi
set +e

echo
echo "figures:"
ls -l $dst/*.png 2>/dev/null | awk '{ printf "  %-44s %6.1f KB\n", $NF, $5 / 1024 }'
big=$(find $dst -name '*.png' -size +100k)
[ -z "$big" ] || echo "warning: over 100 KB: $big" >&2
