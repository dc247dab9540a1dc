#!/usr/bin/env bash
# render_all.sh: re-renders the gnuplot pictures of every run (make plots).
#
#   bash plots/render_all.sh [RUNS_DIR]        (default: runs/)
#
# For each directory under RUNS_DIR:
#   loss.dat      -> loss.png       (plots/loss.gp)
#   gradnorm.dat  -> gradnorm.png   (plots/gradnorm.gp)
#   samples.txt   -> scatter.png    (plots/scatter.gp; with real.txt when present,
#                                    axes fixed by "dataset ring8|grid25" in metrics.txt)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-$root/runs}

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "gnuplot not found: install it (apt-get install gnuplot-nox) and run make plots again"
    exit 1
fi
if [ ! -d "$runs" ]; then
    echo "no runs yet ($runs does not exist): run a chapter first, e.g. make chapter1 && ./chapter1"
    exit 0
fi

rendered=0
failed=0
render() {  # SCRIPT OUT VARS
    if gnuplot -e "$3" "$here/$1"; then
        echo "  $2"
        rendered=$((rendered + 1))
    else
        echo "  FAILED: $2 (gnuplot -e \"$3\" plots/$1)"
        failed=$((failed + 1))
    fi
}

for dir in "$runs"/*/; do
    [ -d "$dir" ] || continue
    dir=${dir%/}
    case $dir in *"'"*) echo "skipping $dir: a quote in the name"; continue ;; esac
    [ -s "$dir/loss.dat" ] || [ -s "$dir/gradnorm.dat" ] || [ -s "$dir/samples.txt" ] || continue
    echo "$dir:"
    if [ -s "$dir/loss.dat" ]; then
        render loss.gp "$dir/loss.png" "datafile='$dir/loss.dat'; outfile='$dir/loss.png'"
    fi
    if [ -s "$dir/gradnorm.dat" ]; then
        render gradnorm.gp "$dir/gradnorm.png" "datafile='$dir/gradnorm.dat'; outfile='$dir/gradnorm.png'"
    fi
    if [ -s "$dir/samples.txt" ]; then
        vars="fakefile='$dir/samples.txt'; outfile='$dir/scatter.png'"
        [ -s "$dir/real.txt" ] && vars="$vars; realfile='$dir/real.txt'"
        case $(sed -n 's/^dataset //p' "$dir/metrics.txt" 2>/dev/null) in
        ring8) vars="$vars; extent=1.5" ;;
        grid25) vars="$vars; extent=6" ;;
        esac
        render scatter.gp "$dir/scatter.png" "$vars"
    fi
done
echo "rendered $rendered plot(s), $failed failed"
[ "$failed" -eq 0 ]
