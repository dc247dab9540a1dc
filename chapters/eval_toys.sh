#!/usr/bin/env bash
# eval_toys.sh: the 2-D toy evaluation of the course's chapters (make eval-toys).
#
# Trains, with every default setting, over 5 seeds on ring8 and on grid25:
#   ch1 minimax          ./chapter1                   (the saturating loss, as in the paper)
#   ch2 non-saturating   ./chapter2                   (-log D(G(z)), after 200 steps of D alone)
#   ch2 minimax          ./chapter2 --loss minimax    (the same D warm-up, the saturating loss)
#   ch4 WGAN             ./chapter4                   (weight clipping)
#   ch5 WGAN-GP          ./chapter5                   (the gradient penalty)
# reads each run's metrics.txt (2,500 samples; high quality = within 3 sigma of
# a mode; a mode is covered by one high-quality sample; KL of the mode
# histogram to uniform) and prints the table in the form of PacGAN's Table 1
# (Lin et al., 2018): mean +- standard error over the seeds, with the
# published rows of a plain GAN and of PacGAN beside ours.
#
#   bash chapters/eval_toys.sh                 chapters 1 2 4 5, 2 runs at a time, into runs/eval/
#   bash chapters/eval_toys.sh 5               chapter 5 only (TOY_CHAPTERS="5" does the same)
#   SEEDS="1 2" JOBS=1 bash chapters/eval_toys.sh 1 2
#   TABLE_ONLY=1 bash chapters/eval_toys.sh    print the table of runs already made
#   FLAGS_CH5="--steps 4000" bash chapters/eval_toys.sh 5    extra flags for one chapter's runs
# A chapter whose program is not built (./chapterN missing) is skipped with a
# note, and its rows are left out of the table.
# Env: TOY_CHAPTERS (default "1 2 4 5"; arguments win), SEEDS (default "1 2 3 4 5"),
# JOBS (parallel runs, default 2: the toys train on one thread each),
# EVAL_OUT (default runs/eval), FLAGS_CHn (flags added to chapter n's runs;
# the runs then go to their own directories, named after the flags). The
# table is also written to $EVAL_OUT/table.md.
set -u
cd "$(dirname "$0")/.." || exit 1
CHAPTERS=${*:-${TOY_CHAPTERS:-"1 2 4 5"}}
SEEDS=${SEEDS:-"1 2 3 4 5"}
JOBS=${JOBS:-2}
OUT=${EVAL_OUT:-runs/eval}
DATASETS="ring8 grid25"
# chapter|name|flags|label: every variant the script knows; the per-chapter
# settings are the flags (defaults: none, the chapter's own defaults).
ALL_VARIANTS="1|ch1-minimax||ch1: minimax loss (ours)
2|ch2-nonsat||ch2: non-saturating loss (ours)
2|ch2-minimax|--loss minimax|ch2: minimax loss, same D warm-up (ours)
4|ch4-wgan||ch4: WGAN, weight clipping (ours)
5|ch5-wgan-gp||ch5: WGAN-GP, gradient penalty (ours)"

for c in $CHAPTERS; do
    case $c in 1|2|4|5) ;; *)
        echo "error: no toy evaluation for chapter '$c'" >&2
        echo "HINT: the chapters with 2-D toys are 1 2 4 5 (e.g. bash chapters/eval_toys.sh 1 2 5)" >&2
        exit 2 ;;
    esac
done

# The variants to run: chapters asked for whose program exists, with their
# FLAGS_CHn appended (and then a run directory of their own).
VARIANTS=""
for c in $CHAPTERS; do
    if [ ! -x ./chapter$c ]; then
        echo "note: ./chapter$c is not built: chapter $c is left out (make chapter$c, then run this again)"
        continue
    fi
    extra_var=FLAGS_CH$c
    extra=${!extra_var:-}
    while IFS='|' read -r ch name flags label; do
        [ "$ch" = "$c" ] || continue
        if [ -n "$extra" ]; then
            name="$name$(echo " $extra" | tr -c 'A-Za-z0-9.\n-' '_')"
            flags="$flags $extra"
            label="${label% (ours)}, $extra (ours)"
        fi
        VARIANTS="$VARIANTS$c|$name|$flags|$label
"
    done <<<"$ALL_VARIANTS"
done
VARIANTS=${VARIANTS%
}
if [ -z "$VARIANTS" ]; then
    echo "error: none of the chapters $CHAPTERS is built" >&2
    echo "HINT: make eval-toys builds them (or make chapter1 chapter2 chapter5)" >&2
    exit 1
fi

if [ "${TABLE_ONLY:-0}" != 1 ]; then
    mkdir -p "$OUT"
    jobs_file=$OUT/jobs.txt
    : >"$jobs_file"
    # Seed by seed (both datasets of seed 1 first), so that a run cut short
    # still gives whole seeds: TABLE_ONLY=1 then prints what is there.
    for s in $SEEDS; do
        while IFS='|' read -r ch name flags label; do
            for ds in $DATASETS; do
                dir=$OUT/$name/$ds/seed$s
                echo "./chapter$ch $flags --dataset $ds --seed $s --force --out $dir >$dir.log 2>&1 || echo \"FAILED: $dir (see $dir.log)\"" >>"$jobs_file"
                mkdir -p "$(dirname "$dir")"
            done
        done <<<"$VARIANTS"
    done
    n=$(wc -l <"$jobs_file")
    echo "eval-toys: $n runs ($JOBS at a time) into $OUT/ ..."
    start=$(date +%s)
    tr '\n' '\0' <"$jobs_file" | xargs -0 -P "$JOBS" -I{} bash -c '{}'
    echo "eval-toys: done in $(($(date +%s) - start)) s"
fi

# --- the table ------------------------------------------------------------------------
mkdir -p "$OUT"
table=$OUT/table.md
{
    echo "| method | ring8: modes (max 8) | ring8: high quality | ring8: KL | grid25: modes (max 25) | grid25: high quality | grid25: KL |"
    echo "|---|---|---|---|---|---|---|"
    while IFS='|' read -r ch name flags label; do
        row="| $label |"
        nseeds=0
        for ds in $DATASETS; do
            stats=$(for s in $SEEDS; do
                m=$OUT/$name/$ds/seed$s/metrics.txt
                [ -s "$m" ] && awk '{ v[$1] = $2 } END { print v["modes_covered"], v["high_quality_fraction"], v["mode_kl"] }' "$m"
            done | awk '
                { n++; for (i = 1; i <= 3; i++) { s[i] += $i; q[i] += $i * $i } }
                END {
                    if (n == 0) { print "0\t- | - | -"; exit }
                    for (i = 1; i <= 3; i++) {
                        mean[i] = s[i] / n
                        var = n > 1 ? (q[i] - n * mean[i] * mean[i]) / (n - 1) : 0
                        se[i] = var > 0 ? sqrt(var / n) : 0
                    }
                    printf "%d\t%.1f ± %.1f | %.1f ± %.1f%% | %.2f ± %.2f", n, mean[1], se[1], 100 * mean[2], 100 * se[2], mean[3], se[3]
                }')
            nseeds=${stats%%$'\t'*}
            row="$row ${stats#*$'\t'} |"
        done
        echo "$row" | sed "s/(ours)/(ours, $nseeds seeds)/"
    done <<<"$VARIANTS"
    # Published: Lin et al. 2018 (PacGAN), Table 1, 10 trials each, mean ± standard error.
    echo "| GAN (PacGAN paper, Table 1) | 6.3 ± 0.5 | 98.2 ± 0.2% | 0.45 ± 0.09 | 17.3 ± 0.8 | 94.8 ± 0.7% | 0.70 ± 0.07 |"
    echo "| PacGAN2 (PacGAN paper, Table 1) | 7.9 ± 0.1 | 95.6 ± 2.0% | 0.07 ± 0.03 | 23.8 ± 0.7 | 91.3 ± 0.8% | 0.13 ± 0.04 |"
    echo "| PacGAN3 (PacGAN paper, Table 1) | 7.8 ± 0.1 | 97.7 ± 0.3% | 0.10 ± 0.02 | 24.6 ± 0.4 | 94.2 ± 0.4% | 0.06 ± 0.02 |"
    echo "| PacGAN4 (PacGAN paper, Table 1) | 7.8 ± 0.1 | 95.9 ± 1.4% | 0.07 ± 0.02 | 24.8 ± 0.2 | 93.6 ± 0.6% | 0.04 ± 0.01 |"
    # Srivastava et al. 2017 (VEEGAN), Table 1: the same protocol, a plain GAN, no KL column.
    echo "| GAN (VEEGAN paper, Table 1) | 1.0 | 99.3% | - | 3.3 | 0.5% | - |"
} >"$table"
echo
echo "2-D toys, 2,500 samples per run; mean ± standard error over seeds ${SEEDS// /, }."
echo "High quality: within 3 sigma of a mode; KL: mode histogram of high-quality samples vs uniform."
echo
cat "$table"
echo
echo "(table saved in $table; per-run outputs under $OUT/)"
missing=0
while IFS='|' read -r ch name flags label; do
    for ds in $DATASETS; do for s in $SEEDS; do [ -s "$OUT/$name/$ds/seed$s/metrics.txt" ] || missing=$((missing + 1)); done; done
done <<<"$VARIANTS"
if [ $missing -gt 0 ]; then
    echo "error: $missing run(s) have no metrics.txt" >&2
    echo "HINT: look at the .log files beside them under $OUT/" >&2
    exit 1
fi
