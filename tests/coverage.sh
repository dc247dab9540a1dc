#!/usr/bin/env bash
# coverage.sh: line and branch coverage of common/ by `make test` (make coverage).
#
#   bash tests/coverage.sh            build with --coverage into build/coverage,
#                                     run make test there, print a table per file
#   bash tests/coverage.sh --report   only print the table of the last run
#
# Plain gcov (gcc's), parsed here: gcovr is not needed. "lines" is the share
# of executable lines run at least once, "branches" the share of branch
# outcomes taken at least once (gcov -b's "Taken at least once"). The build
# is -O0 so lines map one to one to the source; make test is then slower
# (about 3x) than the -O3 one. Chapters are relinked in build/coverage and
# copied to ./chapterN; the next plain `make` copies the -O3 ones back.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=build/coverage
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! command -v gcov >/dev/null 2>&1; then
    echo "coverage: gcov not found" >&2
    echo "HINT: it comes with gcc (apt-get install gcc); clang's is llvm-cov gcov" >&2
    exit 2
fi
if [ "${1:-}" != "--report" ]; then
    find "$BUILD" -name '*.gcda' -delete 2>/dev/null
    # CC=gcc: the .gcno/.gcda format is gcc's (gcov reads it).
    knobs=(CC=gcc SRC=solutions BUILD="$BUILD" OPT="-O0 -g --coverage" LDLIBS="-lm --coverage")
    make --no-print-directory -j2 "${knobs[@]}" all >/dev/null || { echo "coverage: build failed" >&2; exit 1; }
    make --no-print-directory "${knobs[@]}" test
    echo "coverage: make test exit $? (coverage counts whatever ran)"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ganbook-cov.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$PWD
printf '%-26s %7s %7s %9s %9s\n' file lines '%' branches '%'
for src in common/*.c common/run/*.c; do
    obj=$BUILD/$(dirname "$src")
    [ -f "$obj/$(basename "${src%.c}").gcno" ] || continue
    (cd "$tmp" && gcov -b -o "$root/$obj" "$root/$src" 2>/dev/null) | awk -v f="$src" '
        /^File / { cur = (index($0, f "'"'"'") > 0) }
        cur && /^Lines executed:/ { split($2, a, ":"); lp = a[2]; ln = $NF }
        cur && /^Taken at least once:/ { split($4, b, ":"); bp = b[2]; bn = $NF }
        cur && /^No branches/ { bp = "-"; bn = 0 }
        END {
            if (ln == "") exit
            gsub(/%/, "", lp); gsub(/%/, "", bp)
            printf "%-26s %7d %6s%% %9d %8s%%\n", f, ln, lp, bn, bp
            printf "%s %d %s %d %s\n", f, ln, lp, bn, bp > "/dev/stderr"
        }' 2>>"$tmp/sum"
done
awk '{ l += $2; lc += $2 * $3 / 100; b += $4; if ($5 != "-") bc += $4 * $5 / 100 }
     END { if (l) printf "%-26s %7d %6.1f%% %9d %8.1f%%\n", "total common/", l, 100 * lc / l, b, b ? 100 * bc / b : 0 }' "$tmp/sum"
