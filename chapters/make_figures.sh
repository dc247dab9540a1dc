#!/usr/bin/env bash
# make_figures.sh: the pictures the chapter READMEs show (make figures).
#
# Runs ./chapter1 and ./chapter2 with their default settings into
# runs/figures/, then copies and renders into the chapter folders:
#   chapters/ch01_vanilla_gan/  loss.png  scatter.png  samples_000000.png ... (training progress)
#   chapters/ch02_nonsaturating/  gradnorm.png  loss.png  scatter.png  samples_*.png
# The plots are drawn from every 4th row of loss.dat and at 800x600 so that
# each file stays well under 100 KB in the repository. Needs gnuplot.
#   FIGURES_MNIST=1 also trains ./chapter1 and ./chapter2 on MNIST (minutes
#   each) and copies their last sample grids to mnist_samples.png.
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "error: gnuplot is not installed, and the figures are gnuplot plots" >&2
    echo "HINT: apt-get install gnuplot-nox, then make figures again" >&2
    exit 1
fi
OUT=${FIGURES_OUT:-runs/figures}
mkdir -p "$OUT"
ch1=chapters/ch01_vanilla_gan
ch2=chapters/ch02_nonsaturating

# gnuplot with a smaller canvas: the terminal line of the script is replaced.
plot_small() {  # SCRIPT VARS
    local script
    script=$(sed 's/size 1000, 750/size 800, 600/; s/size 900, 600/size 800, 520/; s/size 700, 700/size 560, 560/' "plots/$1")
    gnuplot -e "$2" <(printf '%s\n' "$script")
}
thin() { awk 'NR == 1 || (NR - 2) % 4 == 0' "$1" >"$2"; }

set -e
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
set +e

echo
echo "figures:"
ls -l $ch1/*.png $ch2/*.png | awk '{ printf "  %-48s %6.1f KB\n", $NF, $5 / 1024 }'
big=$(find $ch1 $ch2 -name '*.png' -size +100k)
if [ -n "$big" ]; then
    echo "warning: over 100 KB: $big" >&2
fi
