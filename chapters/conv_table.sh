#!/usr/bin/env bash
# conv_table.sh: chapter 3's table of convolution kernels (make conv-table).
#
# Trains ./chapter3 for a few steps with each --conv choice (default
# settings otherwise: width 32, batch 128, all cores) into runs/conv-table/,
# reads ms_per_step and conv_seconds from each run's metrics.txt and prints
# a Markdown table: the time per training step, the part of it spent in
# convolutions, and how many times faster than the naive loops that is.
#   CONV_STEPS=N     training steps per run (default 10; the first one,
#                    which grows the step arena, is included)
#   CONV_ARGS="..."  more flags for every run (e.g. "--width 64" or "--threads 1")
# Each run also draws its final samples and scores them (some 20 s that the
# table does not count). The machine's load is printed with the table: on a
# shared 2-core machine compare only rows of one table.
set -u
cd "$(dirname "$0")/.." || exit 1
. chapters/require.sh
steps=${CONV_STEPS:-10}
extra=${CONV_ARGS:-}
out=runs/conv-table
require_program ./chapter3 "make chapter3 (or make conv-table, which builds it)"
mkdir -p "$out"
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")
for conv in naive tiled gemm direct winograd student; do
    echo "== ./chapter3 --steps $steps --conv $conv $extra" >&2
    # shellcheck disable=SC2086
    if ! ./chapter3 --steps "$steps" --conv "$conv" --sample-every 0 --checkpoint-every 0 $extra --force \
        --out "$out/$conv" >"$out/$conv.log" 2>&1; then
        echo "error: ./chapter3 --conv $conv failed; its output is in $out/$conv.log" >&2
        echo "HINT: run the command above by hand to see why" >&2
        exit 1
    fi
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")

metric() { sed -n "s/^$2 //p" "$out/$1/metrics.txt"; }
naive_ms=$(metric naive ms_per_step)
echo
echo "| --conv | what runs on the CPU | ms per step | of which convolutions | share | step speed-up over naive |"
echo "|---|---|---|---|---|---|"
for conv in naive tiled gemm direct winograd student; do
    ms=$(metric $conv ms_per_step)
    conv_s=$(metric $conv conv_seconds)
    case $conv in
    naive) what="one loop nest per output element (conv_cpu.c)" ;;
    tiled) what="direct conv on 8x8 output tiles x 16 channels, input patch with halo copied first (conv_tiled.c)" ;;
    gemm) what="im2col + blocked GEMM (conv_cpu.c, gemm.c)" ;;
    direct) what="forward passes: GEMM's register blocking reading x in place, no im2col (conv_direct.c); backward as gemm" ;;
    winograd) what="direct, plus Winograd F(2x2, 2x2) on the stride's phases for all three kernels of the strided layers (conv_winograd.c)" ;;
    student) what="your loops (3.1) in D's forward, conv's backward (3.2) in G; GEMM for the rest" ;;
    esac
    awk -v c="$conv" -v w="$what" -v ms="$ms" -v cs="$conv_s" -v n="$steps" -v base="$naive_ms" 'BEGIN {
        conv_ms = 1000 * cs / n
        printf "| %s | %s | %.0f | %.0f ms | %.0f%% | %.1fx |\n", c, w, ms, conv_ms, 100 * conv_ms / ms, base / ms }'
done
echo
echo "$steps steps each, $(nproc 2>/dev/null || echo '?') cores, load average $load_before before, $load_after after;" \
    "flags: --sample-every 0 --checkpoint-every 0 $extra"
