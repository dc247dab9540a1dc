#!/usr/bin/env bash
# make_figures.sh: the pictures chapter 5's README shows (make figures-ch5).
#
# Runs ./chapter5 with its default settings on ring8 and on grid25 into
# runs/figures/chapter5*/, then renders and copies into chapters/ch05_wgan_gp/:
#   critic_ring_NNNNNN.png   the critic's heat map with real and generated points,
#                            steps 0, 500, 2000 and the last (ring8)
#   critic_grid_last.png     the same at the end of the grid25 run
#   gradnorm_hist.png        ||grad_x C(x_hat)|| of 2,500 interpolates at the end (ring8)
#   loss.png                 loss.dat of the ring8 run (every 4th row)
#   scatter_ring8.png, scatter_grid25.png, metrics_ring8.txt, metrics_grid25.txt
#   FIGURES_MNIST=1 also trains ./chapter5 --dataset mnist with its defaults
#   and copies its last sample grid to mnist_samples.png and its metrics.txt
#   (FID, inception score) to metrics_mnist.txt; MNIST_FLAGS adds flags to
#   that run (e.g. "--steps 3000" for a longer run); MNIST_RUN=DIR takes the
#   run in DIR instead of training.
# RING_RUN=DIR, GRID_RUN=DIR take those runs instead of training them (they
# must be default runs: seed 1 of make eval-toys is, runs/eval/ch5-wgan-gp/ring8/seed1).
# The plots are drawn smaller than a run draws them, to keep each file under
# 100 KB in the repository. Needs gnuplot.
set -u
cd "$(dirname "$0")/../.." || exit 1
. chapters/require.sh
require_gnuplot figures-ch5
OUT=${FIGURES_OUT:-runs/figures}
dst=chapters/ch05_wgan_gp
mkdir -p "$OUT"
plot_small() {  # SCRIPT VARS: the script with a smaller canvas
    local script
    script=$(sed 's/size 1000, 750/size 800, 600/; s/size 760, 680/size 600, 540/; s/size 800, 500/size 640, 400/; s/size 700, 700/size 520, 520/' "plots/$1")
    gnuplot -e "$2" <(printf '%s\n' "$script")
}
thin() { awk 'NR == 1 || (NR - 2) % 4 == 0' "$1" >"$2"; }
last_step() { sed -n 's/^steps //p' "$1/metrics.txt"; }

set -e
ring=${RING_RUN:-$OUT/chapter5-ring8}
grid=${GRID_RUN:-$OUT/chapter5-grid25}
for pair in "ring8:$ring:${RING_RUN:-}" "grid25:$grid:${GRID_RUN:-}"; do
    IFS=: read -r ds dir given <<<"$pair"
    if [ -n "$given" ]; then
        echo "== $ds: the run in $dir (given)"
        continue
    fi
    echo "== ./chapter5 --dataset $ds (defaults) -> $dir"
    start=$(date +%s)
    ./chapter5 --dataset $ds --force --out "$dir" | tail -n 8
    echo "   ($(($(date +%s) - start)) s)"
done
last=$(printf '%06d' "$(last_step "$ring")")
for s in 000000 000500 002000 "$last"; do
    plot_small critic.gp "datafile='$ring/critic_$s.dat'; outfile='$dst/critic_ring_$s.png'; extent=1.5; step=$((10#$s))"
done
glast=$(printf '%06d' "$(last_step "$grid")")
plot_small critic.gp "datafile='$grid/critic_$glast.dat'; outfile='$dst/critic_grid_last.png'; extent=6; step=$((10#$glast))"
plot_small gradnorm_hist.gp "datafile='$ring/gradnorm_hist.dat'; outfile='$dst/gradnorm_hist.png'"
mkdir -p "$ring-every-4th-row"
thin "$ring/loss.dat" "$ring-every-4th-row/loss.dat"
plot_small loss.gp "datafile='$ring-every-4th-row/loss.dat'; outfile='$dst/loss.png'"
plot_small scatter.gp "fakefile='$ring/samples.txt'; realfile='$ring/real.txt'; outfile='$dst/scatter_ring8.png'; extent=1.5"
plot_small scatter.gp "fakefile='$grid/samples.txt'; realfile='$grid/real.txt'; outfile='$dst/scatter_grid25.png'; extent=6"
cp "$ring/metrics.txt" "$dst/metrics_ring8.txt"
cp "$grid/metrics.txt" "$dst/metrics_grid25.txt"

if [ "${FIGURES_MNIST:-0}" = 1 ] || [ -n "${MNIST_RUN:-}" ]; then
    m=${MNIST_RUN:-$OUT/chapter5-mnist}
    if [ -z "${MNIST_RUN:-}" ]; then
        echo "== ./chapter5 --dataset mnist ${MNIST_FLAGS:-} -> $m"
        start=$(date +%s)
        # shellcheck disable=SC2086
        ./chapter5 --dataset mnist ${MNIST_FLAGS:-} --force --out "$m" | tail -n 14
        echo "   ($(($(date +%s) - start)) s)"
    fi
    cp "$m/samples_$(printf '%06d' "$(last_step "$m")").png" "$dst/mnist_samples.png"
    cp "$m/metrics.txt" "$dst/metrics_mnist.txt"
fi
ls -la "$dst"/*.png | awk '{ print "  " $5 " bytes  " $9 }'
