#!/usr/bin/env bash
# ablation.sh: chapter 7's ablation table (make ablation-ch7).
#
# Trains ./chapter7 with chapter 3's DCGAN (--recipe baseline), the same with
# no batch norm in D (spectral norm and R1 need D without it, so their rows
# change two things; this row separates the two), then with each technique
# added alone, then with all of them (--recipe full), at equal
# steps and batch, over several seeds, on each dataset, and prints one table
# per dataset: FID, inception score, classes covered and class KL from the
# evaluation classifier (10,000 samples against the held-out split), how well
# D tells its training images from held-out ones at the end (dout.dat's auc
# over the last fifth of training: D overfitting), and ms per training step,
# as mean ± standard error over the seeds.
#
#   bash chapters/ch07_modern_recipe/ablation.sh                  the full protocol: all
#                                 training images, then 1,000 of them (100 per class)
#   TRAIN_SIZES=1000 bash chapters/ch07_modern_recipe/ablation.sh only the small-data tables
#   TABLE_ONLY=1 bash chapters/ch07_modern_recipe/ablation.sh     the table of runs already made
# A run whose metrics.txt is already there is kept, not trained again, so an
# interrupted protocol continues where it stopped; RERUN=1 trains every run
# again (its directory is overwritten).
# Env (defaults = the protocol of the README's table):
#   DATASETS "mnist fashion"   SEEDS "1 2 3"   STEPS 800   BATCH 64   WIDTH 32
#   TRAIN_SIZES "0 1000" (0: all)   THREADS 0 (all cores; runs one after another)
#   ABLATION_OUT runs/ablation-ch7
# Each protocol has its own folder, $ABLATION_OUT/<dataset>-<size>-<steps>x<batch>-w<width>/,
# so runs of another protocol are never kept in its table; the table is also
# written there as table.md.
set -u
cd "$(dirname "$0")/../.." || exit 1
. chapters/require.sh
DATASETS=${DATASETS:-"mnist fashion"}
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-800}
BATCH=${BATCH:-64}
WIDTH=${WIDTH:-32}
TRAIN_SIZES=${TRAIN_SIZES:-${TRAIN_SIZE:-"0 1000"}}
THREADS=${THREADS:-0}
OUT=${ABLATION_OUT:-runs/ablation-ch7}
# name|flags|label: the rows, top to bottom
ROWS="baseline|--recipe baseline|DCGAN (chapter 3): BCE, batch norm in D, Adam 2e-4
nobn|--recipe baseline --d-norm none|the same without batch norm in D (the control for spectral norm and R1)
sn|--recipe baseline --sn on --d-norm none|+ spectral norm (D without batch norm)
hinge|--recipe baseline --loss hinge|+ hinge loss
ttur|--recipe baseline --lr 1e-4 --lr-d 4e-4|+ TTUR (G 1e-4, D 4e-4)
r1|--recipe baseline --r1 1 --d-norm none|+ R1 (gamma 1, lazy every 16; D without batch norm)
ema|--recipe baseline --ema 0.995|+ EMA of G (decay 0.995 after step 500)
augment|--recipe baseline --augment color,translation,cutout|+ DiffAugment (color, translation, cutout)
full|--recipe full|all of them (--recipe full)"

require_program ./chapter7 "make chapter7 (make ablation-ch7 builds it)"
start=$(date +%s)
for TRAIN_SIZE in $TRAIN_SIZES; do
    size_name=$([ "$TRAIN_SIZE" = 0 ] && echo all || echo "$TRAIN_SIZE")
    for ds in $DATASETS; do
        dir=$OUT/$ds-$size_name-${STEPS}x$BATCH-w$WIDTH
        mkdir -p "$dir"
        if [ "${TABLE_ONLY:-0}" != 1 ]; then
            n=$(( $(echo "$ROWS" | wc -l) * $(echo $SEEDS | wc -w) ))
            echo "ablation-ch7: $ds, $size_name training images: $n runs of $STEPS steps into $dir/ ..."
            while IFS='|' read -r name flags label; do
                for s in $SEEDS; do
                    run=$dir/$name-seed$s
                    if [ "${RERUN:-0}" != 1 ] && grep -q '^fid ' "$run/metrics.txt" 2>/dev/null; then
                        printf '  %-9s seed %s: kept (%s)\n' "$name" "$s" "$(awk '$1 == "fid" || $1 == "ms_per_step" { printf "%s %s  ", $1, $2 }' "$run/metrics.txt")"
                        continue
                    fi
                    # shellcheck disable=SC2086
                    ./chapter7 $flags --dataset "$ds" --seed "$s" --steps "$STEPS" --batch "$BATCH" --width "$WIDTH" \
                        --train-size "$TRAIN_SIZE" --threads "$THREADS" --sample-every 0 --checkpoint-every 0 \
                        --force --out "$run" >"$run.log" 2>&1 || echo "FAILED: $run (see $run.log)"
                    printf '  %-9s seed %s: %s\n' "$name" "$s" "$(awk '$1 == "fid" || $1 == "ms_per_step" { printf "%s %s  ", $1, $2 }' "$run/metrics.txt" 2>/dev/null)"
                done
            done <<<"$ROWS"
        fi
        table=$dir/table.md
        {
            echo "| $ds, $size_name training images | FID | IS | classes | class KL | D's AUC train vs held-out | ms/step |"
            echo "|---|---|---|---|---|---|---|"
            while IFS='|' read -r name flags label; do
                for s in $SEEDS; do
                    m=$dir/$name-seed$s/metrics.txt
                    # auc: the mean over the last fifth of the logged steps of dout.dat's
                    # auc (how often D scores a training image above a held-out one:
                    # 0.5 = D cannot tell them apart, 1 = it has memorized the training set)
                    auc=$(awk '!/^#/ { step[n] = $1; a[n++] = $5 }
                               END { if (!n) { print "nan"; exit } last = step[n - 1]
                                     for (i = 0; i < n; i++) if (step[i] > 0.8 * last) { s += a[i]; k++ }
                                     print k ? s / k : "nan" }' "$dir/$name-seed$s/dout.dat" 2>/dev/null)
                    [ -s "$m" ] && awk -v auc="${auc:-nan}" '{ v[$1] = $2 } END { print v["fid"], v["inception_score"], v["classes_covered"], v["class_kl"], auc, v["ms_per_step"] }' "$m"
                done | awk -v label="$label" '
                    NF == 6 && $5 != "nan" { n++; for (i = 1; i <= 6; i++) { s[i] += $i; q[i] += $i * $i } }
                    END {
                        if (n == 0) { printf "| %s | - | - | - | - | - | - |\n", label; exit }
                        for (i = 1; i <= 6; i++) {
                            mean[i] = s[i] / n
                            var = n > 1 ? (q[i] - n * mean[i] * mean[i]) / (n - 1) : 0
                            se[i] = var > 0 ? sqrt(var / n) : 0
                        }
                        printf "| %s | %.1f ± %.1f | %.2f ± %.2f | %.1f ± %.1f | %.3f ± %.3f | %.3f ± %.3f | %.0f ± %.0f |\n", label,
                            mean[1], se[1], mean[2], se[2], mean[3], se[3], mean[4], se[4], mean[5], se[5], mean[6], se[6]
                    }'
            done <<<"$ROWS"
        } >"$table"
        echo
        echo "$ds, $size_name training images; $STEPS steps of $BATCH, width $WIDTH; mean ± standard error over seeds ${SEEDS// /, }:"
        cat "$table"
        echo "(saved in $table)"
    done
done
[ "${TABLE_ONLY:-0}" = 1 ] || echo "ablation-ch7: done in $(($(date +%s) - start)) s"
