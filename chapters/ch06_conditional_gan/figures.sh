#!/usr/bin/env bash
# figures.sh: the runs behind chapter 6's README pictures (make figures-ch6).
#
#   projection  ./chapter6                                  the default run (projection D, one-hot G)
#   concat      ./chapter6 --cond concat --steps 1000       the 2014 paper's D, half the steps
#   projection-3000  a copy of the default run, resumed to 3,000 steps (--resume ... --steps 3000)
# into runs/ch6-figures/<name>/, then copies into chapters/ch06_conditional_gan/:
#   grid_projection.png   the default run's last grid (one class per row, step 2000)
#   early_projection.png  its grid at step 500
#   mid_projection.png    its grid at step 1000 (beside the concat run's, same steps)
#   strip_projection.png  its class_strip.png (z fixed along a row, label code from k to k + 1)
#   loss_projection.png   its loss.png (when gnuplot is installed)
#   grid_concat.png       the concat run's last grid (step 1000)
#   grid_3000.png         the resumed run's last grid (step 3000); resume is bit-exact,
#                         so it is the grid of a fresh ./chapter6 --steps 3000 too
#   metrics_3000.txt      the resumed run's metrics.txt
#   metrics_default.txt   the default run's metrics.txt
# REUSE=1 keeps runs that already finished (their metrics.txt exists) instead
# of training them again. Time: the three runs take about 3 + 2 + 1.5 minutes on the
# 2-core machine when it is idle (much longer under load).
set -eu
cd "$(dirname "$0")/../.." || exit 1
out=runs/ch6-figures
dst=chapters/ch06_conditional_gan
mkdir -p "$out"

train() {  # NAME FLAGS...
    local name=$1
    shift
    if [ "${REUSE:-0}" = 1 ] && [ -s "$out/$name/metrics.txt" ]; then
        echo "figures-ch6: keeping $out/$name (REUSE=1)"
        return
    fi
    echo "figures-ch6: ./chapter6 $* --force --out $out/$name"
    ./chapter6 "$@" --force --out "$out/$name" >"$out/$name.log" 2>&1 ||
        { echo "figures-ch6: FAILED: ./chapter6 $* (see $out/$name.log)" >&2; exit 1; }
}

train projection
train concat --cond concat --steps 1000
r=$out/projection-3000
if [ "${REUSE:-0}" = 1 ] && grep -q '^steps 3000$' "$r/metrics.txt" 2>/dev/null; then
    echo "figures-ch6: keeping $r (REUSE=1)"
else
    rm -rf "$r" && cp -r "$out/projection" "$r"
    echo "figures-ch6: ./chapter6 --resume $r/checkpoint.bin --steps 3000"
    ./chapter6 --resume "$r/checkpoint.bin" --steps 3000 >"$r.log" 2>&1 ||
        { echo "figures-ch6: FAILED: the resumed run (see $r.log)" >&2; exit 1; }
fi

p=$out/projection
cp "$p/samples_002000.png" "$dst/grid_projection.png"
cp "$p/samples_000500.png" "$dst/early_projection.png"
cp "$p/samples_001000.png" "$dst/mid_projection.png"
cp "$p/class_strip.png" "$dst/strip_projection.png"
[ -s "$p/loss.png" ] && cp "$p/loss.png" "$dst/loss_projection.png"
cp "$out/concat/samples_001000.png" "$dst/grid_concat.png"
cp "$r/samples_003000.png" "$dst/grid_3000.png"
cp "$p/metrics.txt" "$dst/metrics_default.txt"
cp "$r/metrics.txt" "$dst/metrics_3000.txt"
grep -E '^(label_accuracy|fid|inception_score|classes_covered|class_kl|train_seconds) ' "$p/metrics.txt" | sed 's/^/  projection: /'
grep -E '^(label_accuracy|fid|inception_score|classes_covered|class_kl|train_seconds) ' "$out/concat/metrics.txt" | sed 's/^/  concat:     /'
grep -E '^(label_accuracy|fid|inception_score|classes_covered|class_kl|train_seconds) ' "$r/metrics.txt" | sed 's/^/  3000 steps: /'
echo "figures-ch6: pictures, metrics_default.txt and metrics_3000.txt in $dst/"
