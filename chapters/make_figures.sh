#!/usr/bin/env bash
# make_figures.sh: the pictures the chapter READMEs show (make figures).
#
# Runs ./chapter1 and ./chapter2 with their default settings into
# runs/figures/, then copies and renders into the chapter folders:
#   chapters/ch01_vanilla_gan/  loss.png  scatter.png  samples_000000.png ... (training progress)
#   chapters/ch02_nonsaturating/  gradnorm.png  loss.png  scatter.png  samples_*.png
# The plots are drawn from every 4th row of loss.dat and at 800x600 so that
# each file stays well under 100 KB in the repository. Needs gnuplot.
#   chapters/ch03_dcgan/  loss.png  samples_*.png  interp_linear.png  interp_slerp.png
#                         walk.png  collapse_nobn.png  collapse_beta1.png  metrics_default.txt
#   (chapter 3: its default run, about 3 minutes, and two short failing runs)
#   FIGURES_MNIST=1 also trains ./chapter1 and ./chapter2 on MNIST (minutes
#   each) and copies their last sample grids to mnist_samples.png.
#   FIGURES_FASHION=1 also trains ./chapter3 on Fashion-MNIST (3 minutes) and
#   copies its last grid to chapters/ch03_dcgan/fashion_samples.png;
#   FIGURES_LONG=1 trains it for 6,000 steps (10 minutes) into long_samples.png.
#   FIGURES_CHAPTERS="3" makes only chapter 3's figures (default "1 2 3").
set -u
cd "$(dirname "$0")/.." || exit 1
. chapters/require.sh
require_gnuplot figures
OUT=${FIGURES_OUT:-runs/figures}
mkdir -p "$OUT"
ch1=chapters/ch01_vanilla_gan
ch2=chapters/ch02_nonsaturating
ch3=chapters/ch03_dcgan
chapters=" ${FIGURES_CHAPTERS:-1 2 3} "

# gnuplot with a smaller canvas: the terminal line of the script is replaced.
plot_small() {  # SCRIPT VARS
    local script
    script=$(sed 's/size 1000, 750/size 800, 600/; s/size 900, 600/size 800, 520/; s/size 700, 700/size 560, 560/' "plots/$1")
    gnuplot -e "$2" <(printf '%s\n' "$script")
}
thin() { awk 'NR == 1 || (NR - 2) % 4 == 0' "$1" >"$2"; }

set -e
if [ "${chapters#* 1 }" != "$chapters" ]; then
echo "== ./chapter1 (defaults) -> $OUT/chapter1"
./chapter1 --force --out "$OUT/chapter1" | tail -n 4
echo "== ./chapter2 (defaults) -> $OUT/chapter2"
./chapter2 --force --out "$OUT/chapter2" | tail -n 4

for pair in "$OUT/chapter1:$ch1" "$OUT/chapter2:$ch2"; do
    run=${pair%%:*}
    dst=${pair#*:}
    # the plot titles name these files: "runs/figures/chapter1-every-4th-row/loss.dat"
    mkdir -p "$run-every-4th-row"
    thin "$run/loss.dat" "$run-every-4th-row/loss.dat"
    plot_small loss.gp "datafile='$run-every-4th-row/loss.dat'; outfile='$dst/loss.png'"
    plot_small scatter.gp "fakefile='$run/samples.txt'; realfile='$run/real.txt'; outfile='$dst/scatter.png'; extent=1.5"
    for s in 000000 000500 001000 002000 005000; do cp "$run/samples_$s.png" "$dst/samples_$s.png"; done
done
thin "$OUT/chapter2/gradnorm.dat" "$OUT/chapter2-every-4th-row/gradnorm.dat"
plot_small gradnorm.gp "datafile='$OUT/chapter2-every-4th-row/gradnorm.dat'; outfile='$ch2/gradnorm.png'"
cp "$OUT/chapter1/metrics.txt" "$ch1/metrics_default.txt"
cp "$OUT/chapter2/metrics.txt" "$ch2/metrics_default.txt"

if [ "${FIGURES_MNIST:-0}" = 1 ]; then
    for n in 1 2; do
        echo "== ./chapter$n --dataset mnist -> $OUT/chapter$n-mnist"
        ./chapter$n --dataset mnist --force --out "$OUT/chapter$n-mnist" | tail -n 3
    done
    last=$(ls "$OUT"/chapter1-mnist/samples_*.png | tail -n 1)
    cp "$last" "$ch1/mnist_samples.png"
    last=$(ls "$OUT"/chapter2-mnist/samples_*.png | tail -n 1)
    cp "$last" "$ch2/mnist_samples.png"
fi
fi

# Chapter 3: the default run, then two runs that fail in the two ways the
# README shows (G never starts without batch norm; everything collapses to
# one image with beta1 0.9 and a large learning rate).
if [ "${chapters#* 3 }" != "$chapters" ]; then
    echo "== ./chapter3 (defaults) -> $OUT/chapter3"
    ./chapter3 --force --out "$OUT/chapter3" | { grep -A 8 '^evaluation' || true; }
    run=$OUT/chapter3
    mkdir -p "$run-every-4th-row"
    thin "$run/loss.dat" "$run-every-4th-row/loss.dat"
    plot_small loss.gp "datafile='$run-every-4th-row/loss.dat'; outfile='$ch3/loss.png'"
    for s in 000000 001000 001500 002000; do cp "$run/samples_$s.png" "$ch3/samples_$s.png"; done
    for f in interp_linear interp_slerp walk; do cp "$run/$f.png" "$ch3/$f.png"; done
    cp "$run/metrics.txt" "$ch3/metrics_default.txt"
    echo "== ./chapter3 --bn none --steps 500 -> $OUT/chapter3-nobn"
    ./chapter3 --bn none --steps 500 --force --out "$OUT/chapter3-nobn" | { grep -A 2 '^evaluation' || true; }
    cp "$OUT/chapter3-nobn/samples_000500.png" "$ch3/collapse_nobn.png"
    echo "== ./chapter3 --beta1 0.9 --lr 1e-2 --steps 500 -> $OUT/chapter3-beta1"
    ./chapter3 --beta1 0.9 --lr 1e-2 --steps 500 --force --out "$OUT/chapter3-beta1" | { grep -A 2 '^evaluation' || true; }
    cp "$OUT/chapter3-beta1/samples_000500.png" "$ch3/collapse_beta1.png"
    if [ "${FIGURES_FASHION:-0}" = 1 ]; then
        echo "== ./chapter3 --dataset fashion -> $OUT/chapter3-fashion"
        ./chapter3 --dataset fashion --force --out "$OUT/chapter3-fashion" | { grep -A 2 '^evaluation' || true; }
        cp "$OUT/chapter3-fashion/samples_002000.png" "$ch3/fashion_samples.png"
    fi
    if [ "${FIGURES_LONG:-0}" = 1 ]; then
        echo "== ./chapter3 --steps 6000 -> $OUT/chapter3-long"
        ./chapter3 --steps 6000 --sample-every 2000 --checkpoint-every 2000 --force --out "$OUT/chapter3-long" |
            { grep -A 2 '^evaluation' || true; }
        cp "$OUT/chapter3-long/samples_006000.png" "$ch3/long_samples.png"
    fi
fi
set +e

echo
echo "figures:"
ls -l $ch1/*.png $ch2/*.png $ch3/*.png 2>/dev/null | awk '{ printf "  %-48s %6.1f KB\n", $NF, $5 / 1024 }'
big=$(find $ch1 $ch2 $ch3 -name '*.png' -size +100k)
if [ -n "$big" ]; then
    echo "warning: over 100 KB: $big" >&2
fi
